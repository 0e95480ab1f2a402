package dev.lguest.api.snapshot;

/**
 * A snapshot that cannot be written or read back: a truncated, corrupted or foreign
 * file, a format or section version this build does not read, a component the
 * snapshot needs and this build lacks. The message is one line, fit for the user.
 */
public final class SnapshotException extends Exception {
    private static final long serialVersionUID = 1L;

    public SnapshotException(String message) {
        super(message);
    }
}
