package dev.lguest.virtio.console;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/**
 * Keystrokes read but not yet in the guest: the keyboard thread adds, the Launcher's
 * thread takes. It holds at most {@link #LIMIT} bytes; the keyboard thread waits for
 * room, so a guest that takes no input cannot make us buffer a whole file. When the
 * console is handed to another implementation, what waits here goes with it.
 */
final class PendingInput {
    static final int LIMIT = 4096;

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private boolean closed;

    /** Adds keystrokes, waiting while the buffer is full; false once closed. */
    synchronized boolean add(byte[] from, int offset, int length) throws InterruptedException {
        while (!closed && bytes.size() >= LIMIT) {
            wait();
        }
        if (closed) {
            return false;
        }
        bytes.write(from, offset, length);
        return true;
    }

    /** Waits until there is room for at least one byte; returns how much room, or 0 once closed. */
    synchronized int awaitRoom() throws InterruptedException {
        while (!closed && bytes.size() >= LIMIT) {
            wait();
        }
        return closed ? 0 : LIMIT - bytes.size();
    }

    /** Puts back bytes a previous device held (a hand-over), whatever the limit. */
    synchronized void restore(byte[] held) {
        bytes.write(held, 0, held.length);
    }

    /** A copy of what waits, oldest first, leaving it in place. */
    synchronized byte[] peekAll() {
        return bytes.toByteArray();
    }

    synchronized int available() {
        return bytes.size();
    }

    /** Takes up to {@code max} bytes, oldest first. */
    synchronized byte[] take(int max) {
        byte[] all = bytes.toByteArray();
        int n = Math.min(max, all.length);
        bytes.reset();
        bytes.write(all, n, all.length - n);
        notifyAll();
        return Arrays.copyOf(all, n);
    }

    synchronized void close() {
        closed = true;
        notifyAll();
    }
}
