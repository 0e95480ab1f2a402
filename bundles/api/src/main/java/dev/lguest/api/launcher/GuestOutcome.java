package dev.lguest.api.launcher;

/**
 * How a guest ended: it powered off ("Power down"), or it died for {@code reason}.
 */
public record GuestOutcome(boolean poweredOff, String reason) {
    public int exitCode() {
        return poweredOff ? 0 : 1;
    }
}
