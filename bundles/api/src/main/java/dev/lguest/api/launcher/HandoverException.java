package dev.lguest.api.launcher;

/**
 * A device that cannot take over a running guest's device from the state it was
 * given (a state it does not know, a disk it cannot use). The Launcher then leaves the
 * old device running and logs the message, which says why in one line.
 */
public final class HandoverException extends Exception {
    private static final long serialVersionUID = 1L;

    public HandoverException(String message) {
        super(message);
    }
}
