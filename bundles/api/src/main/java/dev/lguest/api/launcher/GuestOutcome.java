package dev.lguest.api.launcher;

/**
 * How a guest ended: it powered off ("Power down"), or it died for {@code reason},
 * and the exit status the `lguest` command ends with for it.
 *
 * A power-off is 0 and a death 1. The one other status is lguest.c's: the user ended
 * the guest from its console (three ^C within about a second), which exits 2.
 */
public record GuestOutcome(boolean poweredOff, String reason, int exitCode) {
    /** lguest.c's exit(2) when the user ends the guest from its console. */
    public static final int USER_STOPPED = 2;

    /** A power-off (0) or a death (1). */
    public GuestOutcome(boolean poweredOff, String reason) {
        this(poweredOff, reason, poweredOff ? 0 : 1);
    }

    /** The user ended the guest through a device ({@link DeviceHost#stopGuest}), for {@code reason}. */
    public static GuestOutcome stoppedByUser(String reason) {
        return new GuestOutcome(false, reason, USER_STOPPED);
    }
}
