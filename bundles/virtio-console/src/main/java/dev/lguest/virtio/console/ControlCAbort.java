package dev.lguest.virtio.console;

/**
 * lguest.c's exit hack: with the terminal raw, ^C goes to the guest, so three ^C in a
 * row, each read on its own, within about a second, end the guest instead. Any other
 * key starts the count again.
 */
final class ControlCAbort {
    static final byte CONTROL_C = 3;
    static final long WINDOW_NANOS = 2_000_000_000L;

    private int count;
    private long first;

    ControlCAbort() {
    }

    /** Continues a count another device started (a hand-over). */
    ControlCAbort(int count, long first) {
        this.count = count;
        this.first = first;
    }

    int count() {
        return count;
    }

    long first() {
        return first;
    }

    /** Records one delivery; true when it was the third lone ^C in time. */
    boolean seen(byte[] delivered) {
        if (delivered.length != 1 || delivered[0] != CONTROL_C) {
            count = 0;
            return false;
        }
        long now = System.nanoTime();
        if (count == 0 || now - first > WINDOW_NANOS) {
            count = 1;
            first = now;
            return false;
        }
        return ++count == 3;
    }
}
