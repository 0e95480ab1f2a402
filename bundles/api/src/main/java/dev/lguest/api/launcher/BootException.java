package dev.lguest.api.launcher;

/**
 * A guest that cannot be booted from what it was given: a missing kernel, a file that
 * is not an i386 ELF, memory too small. The message is one line, fit for the user.
 */
public final class BootException extends Exception {
    private static final long serialVersionUID = 1L;

    public BootException(String message) {
        super(message);
    }
}
