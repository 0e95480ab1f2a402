package dev.lguest.api.device;

import java.lang.foreign.MemorySegment;

/**
 * The /dev/lguest character device as a service. A Launcher opens it once per guest,
 * handing over its own memory: as in lguest, the guest's memory is part of the
 * Launcher's address space, and LHREQ_INITIALIZE's "base" is an offset into it.
 */
public interface LguestDevice {
    LguestFile open(MemorySegment launcherMemory);
}
