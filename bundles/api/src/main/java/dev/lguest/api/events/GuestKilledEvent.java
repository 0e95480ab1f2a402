package dev.lguest.api.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * A guest's end, with the reason the host gave: "Power down" for a clean power-off,
 * otherwise why it was killed (a triple fault, a bad hypercall, the Launcher stopping
 * it). Committed by the switcher when it releases the guest, once per guest.
 */
@Name(GuestKilledEvent.NAME)
@Label("Guest Killed")
@Category({"lguest", "Guest"})
@Description("A guest ended: powered off, or killed by the host for a reason")
@StackTrace(false)
public final class GuestKilledEvent extends jdk.jfr.Event {
    public static final String NAME = "dev.lguest.GuestKilled";

    @Label("Guest")
    public int guestId;

    @Label("Reason")
    public String reason;

    @Label("Powered Off")
    public boolean poweredOff;

    @Label("Instructions")
    public long instructions;

    @Label("Exits")
    public long exits;
}
