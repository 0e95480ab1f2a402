package dev.lguest.api.launcher;

import java.util.Optional;

/**
 * A kind of device the Launcher can give its guests (console, block...), as a
 * service: a custom build leaves a device out by leaving its bundle out, or brings
 * another. At every boot the Launcher asks each bound one, in service ranking order,
 * whether the guest gets one, and lists those on the lguest device page.
 *
 * This is lguest.c's setup_console() and setup_block_file(), split off so that the
 * Launcher knows rings and the device page, and a device knows only its requests.
 */
public interface LauncherDevice {
    /** The virtio device type (1 net, 2 block, 3 console). */
    int type();

    /** A short name for --verbose and listings. */
    String name();

    /**
     * Gives the guest being booted one of these devices, or none when {@code spec}
     * does not ask for it (no --block, say). Bad input (a disk that cannot be opened)
     * is a BootException with one line for the user.
     */
    Optional<GuestDevice> attach(BootSpec spec, DeviceHost host) throws BootException;

    /**
     * Takes over a running guest's device from another implementation of the same
     * type (an older copy of this bundle, or one being updated): a device built from
     * {@code handover} that presents exactly its configuration and continues where the
     * old one stopped. The Launcher connects it to the same rings, at the positions in
     * the hand-over. A device that cannot (the default) says why; the old one then
     * keeps running.
     */
    default GuestDevice adopt(DeviceHandover handover, DeviceHost host) throws HandoverException {
        throw new HandoverException(name() + " cannot take over a running guest's device");
    }
}
