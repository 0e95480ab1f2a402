package dev.lguest.api.launcher;

/**
 * What one guest's device hands to the device that takes its place while the guest
 * runs: everything of its own that must outlive it (a disk's open file, a console's
 * keystrokes not yet delivered). The rings are not in it: the Launcher keeps them,
 * and hands their positions over itself ({@link DeviceHandover#queues()}).
 *
 * The known states are records here, so that two builds of a device (or two
 * implementations of the same virtio type) agree on them without sharing classes.
 * A state holds no object of the old device's bundle, only values and JDK objects,
 * so the old bundle can go away once it is handed over.
 */
public interface DeviceState {
    /**
     * Lets go of what the state holds open (a disk's file, a network link) when no
     * device will ever take it: the guest ended while its device was parked between
     * two implementations. A state of plain values holds nothing to let go of.
     */
    default void release() {
    }
}
