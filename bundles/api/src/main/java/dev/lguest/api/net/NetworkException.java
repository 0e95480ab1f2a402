package dev.lguest.api.net;

/** A link that cannot be opened; the message is one line for the user. */
public final class NetworkException extends Exception {
    private static final long serialVersionUID = 1L;

    public NetworkException(String message) {
        super(message);
    }
}
