package dev.lguest.virtio.console;

import java.io.IOException;
import java.io.InputStream;

/**
 * The thread that reads the keyboard for one guest, and the Waker's first half: after
 * each read it asks the Launcher to break out of the guest (LHREQ_BREAK), which blocks
 * until the Launcher has taken the bytes. A blocking read of standard input cannot be
 * interrupted in Java, so the thread is a daemon: it ends with the input, the guest,
 * or the JVM, whichever comes first.
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

    @Override
    public void run() {
        byte[] buffer = new byte[256];
        try {
            while (!stopped) {
                int n = keyboard.read(buffer);
                if (n < 0 || stopped || !pending.add(buffer, 0, n)) {
                    // End of input (lguest.c: "Failed to get console input, ignoring console").
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
