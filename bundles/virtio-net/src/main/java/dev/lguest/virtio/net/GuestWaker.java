package dev.lguest.virtio.net;

/**
 * Gets the guest's attention when frames arrive for it: a thread of the device's own
 * that calls the Launcher's wakeGuest() (lguest.c's Waker: a BREAK, which returns once
 * the guest's thread has moved the frames in). It is a thread because the frames
 * arrive on someone else's: on the switch, another guest's thread in the middle of its
 * own transmit, which must not wait for this guest (two guests sending to each other
 * would each wait for the other). Pokes while a wake is under way fold into one more.
 */
final class GuestWaker {
    private final Runnable wakeGuest;
    private Thread thread;
    private boolean poked;
    private boolean running;

    GuestWaker(Runnable wakeGuest) {
        this.wakeGuest = wakeGuest;
    }

    synchronized void start() {
        if (running) {
            return;
        }
        running = true;
        thread = new Thread(this::run, "lguest-net-waker");
        thread.setDaemon(true);
        thread.start();
    }

    /** Asks for a wake; cheap, never blocks, callable from any thread. */
    synchronized void poke() {
        poked = true;
        notifyAll();
    }

    /**
     * Ends the thread without waiting for it: a BREAK under way returns once the
     * guest's thread serves input, which may be only after the hand-over that is
     * stopping us (it holds the devices' lock), so waiting here could wait for itself.
     * That last BREAK wakes the guest once more, which is harmless.
     */
    synchronized void stop() {
        running = false;
        thread = null;
        notifyAll();
    }

    private void run() {
        Thread self = Thread.currentThread();
        while (true) {
            synchronized (this) {
                while (thread == self && !poked) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (thread != self) {
                    return;
                }
                poked = false;
            }
            try {
                wakeGuest.run();
            } catch (RuntimeException e) {
                // The guest is gone; the device will be closed.
                return;
            }
        }
    }
}
