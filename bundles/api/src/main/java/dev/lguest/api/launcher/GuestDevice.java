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

    /** The guest is gone: release files and threads. */
    @Override
    void close();
}
