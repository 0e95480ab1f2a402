package dev.lguest.switcher;

import dev.lguest.api.events.GuestExitEvent;
import dev.lguest.api.events.GuestKilledEvent;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.GuestStatistics.Exit;
import dev.lguest.api.guest.Lguest;

/**
 * What the switcher tells the world about exits: a log line for the exit kinds the
 * configuration asks for, and Flight Recorder events (one per exit that took at least
 * the recording's threshold, one per guest's end). Counting is the guest's statistics';
 * this is only the telling, and costs a flag test when nothing listens.
 */
final class ExitLog {
    private static final System.Logger LOG = System.getLogger(SwitcherComponent.class.getName());

    private ExitLog() {
    }

    /**
     * The end of an exit's handling: the log line if this kind is logged, and the JFR
     * event if a recording enabled it and the exit took at least its threshold.
     */
    static void finishExit(Guest guest, SwitcherSettingsValue config, GuestExitEvent event, Exit kind,
                           int vector, int errorCode, long eip, long address, long instructions) {
        if (config.loggedExits() != 0 && config.logs(kind)) {
            LOG.log(System.Logger.Level.INFO, () -> String.format(
                    "guest %d exit %s vector %d error %#x eip %#x address %#x after %d instructions",
                    guest.id(), kind, vector, errorCode, eip, address, instructions));
        }
        if (event.shouldCommit()) {
            event.guestId = guest.id();
            event.reason = kind.name();
            event.vector = vector;
            event.errorCode = errorCode;
            event.eip = eip;
            event.address = address;
            event.instructions = instructions;
            event.commit();
        }
    }

    /** A guest's end, for a recording: why, and what it had done. */
    static void recordEnd(Guest guest) {
        GuestKilledEvent event = new GuestKilledEvent();
        if (!event.isEnabled() || !guest.isDead()) {
            return;
        }
        event.guestId = guest.id();
        event.reason = guest.deadReason();
        event.poweredOff = Lguest.POWER_DOWN.equals(event.reason);
        event.instructions = guest.statistics.instructions();
        long exits = 0;
        for (Exit e : Exit.values()) {
            exits += guest.statistics.exits(e);
        }
        event.exits = exits;
        event.commit();
    }
}
