package dev.lguest.api.device;

import java.lang.foreign.MemorySegment;

/**
 * The /dev/lguest character device as a service. A Launcher opens it once per guest,
 * handing over its own memory: as in lguest, the guest's memory is part of the
 * Launcher's address space, and LHREQ_INITIALIZE's "base" is an offset into it.
 *
 * The device can be replaced while guests run: the old implementation's files finish
 * the call in progress and then answer -ENODEV, and the Launcher continues with
 * {@link #adopt} on the implementation bound now.
 */
public interface LguestDevice {
    LguestFile open(MemorySegment launcherMemory);

    /**
     * A file for a guest that a previous implementation of the device created: what a
     * Launcher asks for when its file answered ENODEV because that implementation was
     * replaced. The guest carries on where it stopped; its owner stays its owner.
     */
    LguestFile adopt(dev.lguest.api.guest.Guest guest);
}
