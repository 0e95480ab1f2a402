package dev.lguest.virtio.console;

import java.io.IOException;
import java.io.InputStream;

/**
 * The thread that reads the keyboard for one guest, and the Waker's first half: after
 * each read it asks the Launcher to break out of the guest (LHREQ_BREAK), which blocks
 * until the Launcher has taken the bytes. A blocking read of standard input cannot be
 * interrupted in Java, so the thread is a daemon: it ends with the input, the guest,
 * or the JVM, whichever comes first.
 *
 * For a hand-over the thread must end without losing a key: it reads only as much as
 * the pending buffer has room for, so what it read always goes in, and the Launcher's
 * keyboard stream answers an interrupt without consuming anything. {@link #stopAndJoin}
 * then ends it between two reads.
 */
final class KeyboardPump implements Runnable {
    private final InputStream keyboard;
    private final PendingInput pending;
    private final Runnable wakeGuest;
    private final Thread thread;
    private volatile boolean stopped;

    KeyboardPump(InputStream keyboard, PendingInput pending, Runnable wakeGuest) {
        this.keyboard = keyboard;
        this.pending = pending;
        this.wakeGuest = wakeGuest;
        this.thread = new Thread(this, "lguest-console-input");
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    void stop() {
        stopped = true;
        thread.interrupt();
    }

    /** Stops the thread and waits for it to end; false if it did not in time (a read that ignores interrupts). */
    boolean stopAndJoin(long millis) throws InterruptedException {
        stop();
        thread.join(millis);
        return !thread.isAlive();
    }

    @Override
    public void run() {
        byte[] buffer = new byte[256];
        try {
            while (!stopped) {
                int room = pending.awaitRoom();
                if (room == 0 || stopped) {
                    return;
                }
                int n = keyboard.read(buffer, 0, Math.min(room, buffer.length));
                // Whatever was read goes in, even when stopping: there is room for it.
                if (n < 0 || !pending.add(buffer, 0, n)) {
                    // End of input (lguest.c: "Failed to get console input, ignoring console").
                    return;
                }
                if (stopped) {
                    return;
                }
                wakeGuest.run();
            }
        } catch (IOException e) {
            // The console is gone; the guest simply gets no more input.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
