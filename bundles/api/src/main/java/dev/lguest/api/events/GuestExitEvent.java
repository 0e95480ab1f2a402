package dev.lguest.api.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.MemoryAddress;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Threshold;

/**
 * One exit of a guest from its CPU to the host, and how long the host took over it
 * (a page fault filled in, a trap delivered, a hypercall done, a HALT slept).
 *
 * The switcher commits one per exit, but only while a recording enables the event:
 * otherwise the cost is a flag test, so the run loop stays fast. By default only exits
 * the host spent at least 20 µs on are kept (a recording's settings can lower the
 * threshold to 0 to get every exit: {@code dev.lguest.GuestExit#threshold=0 ms}).
 */
@Name(GuestExitEvent.NAME)
@Label("Guest Exit")
@Category({"lguest", "Guest"})
@Description("A guest left its CPU for the host: why, where, and how long the host took")
@Threshold("20 us")
@StackTrace(false)
public final class GuestExitEvent extends jdk.jfr.Event {
    public static final String NAME = "dev.lguest.GuestExit";

    @Label("Guest")
    public int guestId;

    /** A GuestStatistics.Exit name (PAGE_FAULT, HYPERCALL, ...). */
    @Label("Reason")
    public String reason;

    /** The trap vector for trap exits, the hypercall number for HYPERCALL, else -1. */
    @Label("Vector or Hypercall")
    public int vector;

    @Label("Error Code")
    public int errorCode;

    /** Where the guest was: its eip when it left the CPU. */
    @Label("Guest EIP")
    @MemoryAddress
    public long eip;

    /** The faulting address of a PAGE_FAULT, the NOTIFY address, else 0. */
    @Label("Address")
    @MemoryAddress
    public long address;

    /** Guest instructions run in the slice that ended with this exit (0 when no CPU ran). */
    @Label("Instructions")
    public long instructions;
}
