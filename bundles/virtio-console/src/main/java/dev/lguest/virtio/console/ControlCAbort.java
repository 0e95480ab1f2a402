package dev.lguest.virtio.console;

import java.util.function.LongSupplier;

/**
 * lguest.c's exit hack. With the terminal raw, ^C is a byte for the guest like any
 * other (its shell or tty decide what it means), and a lone ^C is delivered as such.
 * But three ^C in a row, each read on its own, the third within about a second of the
 * first, end the guest and the Launcher (exit status 2).
 *
 * As in lguest.c: any other input starts the count again, and a third ^C that comes
 * too late starts it again too, from nothing (it does not count as a new first).
 * lguest.c compares whole seconds (the third's tv_sec at most the first's + 1, so
 * between one and two seconds); here the third must come within {@link #WINDOW_NANOS}
 * of the first, which accepts every triple it accepts.
 */
final class ControlCAbort {
    static final byte CONTROL_C = 3;
    static final long WINDOW_NANOS = 2_000_000_000L;

    private final LongSupplier clock;
    private int count;
    private long first;

    ControlCAbort() {
        this(System::nanoTime);
    }

    /** For tests: a clock in nanoseconds. */
    ControlCAbort(LongSupplier clock) {
        this.clock = clock;
    }

    /** Continues a count another device started (a hand-over). */
    ControlCAbort(int count, long first) {
        this(System::nanoTime);
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
        if (count++ == 0) {
            first = clock.getAsLong();
            return false;
        }
        if (count < 3) {
            return false;
        }
        count = 0;
        return clock.getAsLong() - first <= WINDOW_NANOS;
    }
}
