package dev.lguest.switcher;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.guest.Guest;

import dev.lguest.api.memory.DirtyLog;
import java.util.concurrent.locks.ReentrantLock;

/**
 * What the switcher keeps for one guest, beside what the Guest itself holds: the
 * switcher pages (GDT, IDT, TSS the CPU walks), the guest's CPU lock a turn of the
 * run loop holds, the registers of a guest parked with no CPU, and what was
 * last loaded into CR3. In lguest these live in struct lg_cpu and the per-CPU
 * switcher pages; here they belong to one switcher and do not survive its
 * replacement (a successor adopts the guest with pages of its own).
 */
final class GuestSlot {
    /**
     * The guest's CPU lock (Guest.cpuLock), held for a whole turn of the run loop; a
     * CPU swap happens only between turns. The guest's own, so that a switcher being
     * replaced and its successor, each with a slot for the guest, exclude each other.
     */
    final ReentrantLock cpuLock;
    /** The configuration this guest runs with (the switcher's when it took the guest on). */
    final SwitcherSettingsValue settings;
    /** When IRQ 0 was last raised (System.nanoTime()), for the minimum timer period. */
    long lastClockIrq;
    boolean clockFired;
    SwitcherPages pages;
    /** The CPU state while no CPU is bound (between an unbind and the next bind). */
    CpuState parked;
    /** The CPU the shadow root was last loaded into (another one needs it loaded). */
    X86Cpu loadedInto;
    /** Whether #DB and #BP go to the host for a debugger now (see RunLoop.runCpu). */
    boolean debugRouted;
    /**
     * The vectors routed to the host (CpuState.hostVectors) last loaded into
     * {@link #routedCpu}, so that an IDT change that leaves them as they are does not
     * load the CPU's whole state again (TrapHandler.copyInGuestInfo).
     */
    long[] hostVectors;
    X86Cpu routedCpu;
    /**
     * The pages the host components wrote through guest.memory since the last run,
     * named to the CPU before the next (see RunLoop.runCpu); null until the loop runs.
     */
    DirtyLog hostWrites;
    /**
     * Guest RAM may have been written since the last run by someone who does not mark
     * hostWrites: the Launcher (the guest was back there), the debugger while it held
     * the guest, or anyone before this CPU (a CPU swap, a switcher's successor). The
     * next run is then a plain one, in which the CPU re-checks all it cached. Host
     * components and devices mark what they write (GuestMemory), so a stop for the
     * budget, an interrupt or a halt leaves this false.
     */
    boolean ramSuspect = true;

    GuestSlot(Guest guest, SwitcherSettingsValue settings) {
        this.cpuLock = guest.cpuLock();
        this.settings = settings;
    }
}
