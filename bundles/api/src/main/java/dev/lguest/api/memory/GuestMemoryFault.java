package dev.lguest.api.memory;

/**
 * Thrown when the host touches guest memory outside what the guest owns.
 *
 * Every address a guest hands us is hostile, so the accessors check it; a check that
 * fails raises this, and whoever acted for the guest turns it into a kill with a
 * reason. It never escapes to the Launcher or the framework.
 */
public final class GuestMemoryFault extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long address;
    private final long length;

    public GuestMemoryFault(long address, long length) {
        super(String.format("bad guest memory access at %#x (%d bytes)", address, length));
        this.address = address;
        this.length = length;
    }

    public long address() {
        return address;
    }

    public long length() {
        return length;
    }
}
