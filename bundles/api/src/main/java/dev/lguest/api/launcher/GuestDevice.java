package dev.lguest.api.launcher;

import java.util.List;

/**
 * One device of one guest: what it puts in its descriptor, and what it does when the
 * guest kicks one of its queues.
 *
 * Every call comes on the guest's Launcher thread, between two runs of the guest, as
 * lguest.c's handlers do: the guest is stopped while a device looks at its rings, so
 * a device needs no locking against the guest. A ring the guest broke is reported by
 * throwing {@link VirtqueueFault}; the Launcher kills the guest with its message.
 *
 * A device that can be replaced while its guest runs (its bundle swapped or updated)
 * implements the hand-over: {@link #suspend()}, then {@link #retire()} once the
 * successor took over, or {@link #resume()} if it could not. These three (and the
 * successor's {@link LauncherDevice#adopt} and {@link #connect}) come on the thread
 * that swaps the bundle, while the guest keeps running: a swap need not stop the
 * guest. The Launcher never calls a device from two threads at once, and what a call
 * did is visible to the next, whatever its thread; so a device still needs no locking
 * of its own, but the hand-over calls must not touch the rings (the guest may be
 * adding buffers at that moment). Ring work belongs to {@link #notified} and
 * {@link #serviceInput()}, which the new device gets once on the guest's thread right
 * after it took over.
 */
public interface GuestDevice extends AutoCloseable {
    /** How many virtqueues the device has; they come first in its descriptor, in order. */
    int queueCount();

    /** The device's other configuration fields, written after its virtqueues. */
    List<ConfigField> configFields();

    /** What --verbose says about the device ("console", "virtblock 2048 sectors"). */
    String describe();

    /** The Launcher built the device's rings: {@code queues.get(i)} is queue i. */
    void connect(List<Virtqueue> queues);

    /** The guest NOTIFYed queue {@code index}: it made buffers available there. */
    void notified(int index);

    /**
     * The Launcher was broken out of the guest by {@link DeviceHost#wakeGuest()}:
     * deliver whatever input is waiting. Devices without input ignore it.
     */
    default void serviceInput() {
    }

    /**
     * Stops the device's own threads and returns the state a successor needs. The
     * device stays whole: it may be resumed. A device that cannot be handed over
     * throws UnsupportedOperationException (the default), and keeps running.
     */
    default DeviceState suspend() {
        throw new UnsupportedOperationException(describe() + " cannot be handed over while its guest runs");
    }

    /** The hand-over after {@link #suspend()} failed: carry on as before. */
    default void resume() {
    }

    /**
     * The hand-over after {@link #suspend()} succeeded: let go of the device without
     * closing what went to the successor in the state (a disk's file); only what is the
     * device's own (threads, buffers) is released. The device is not called again.
     */
    default void retire() {
    }

    /** The guest is gone: release files and threads. */
    @Override
    void close();
}
