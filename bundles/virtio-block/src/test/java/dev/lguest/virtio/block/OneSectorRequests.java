package dev.lguest.virtio.block;

import dev.lguest.api.launcher.DescriptorChain;
import dev.lguest.api.launcher.DescriptorChain.Buffer;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.testing.devices.TestQueue;

import java.util.List;

/**
 * One-sector requests laid out as 2.6.24's virtio_blk sends them (the header, the
 * sector's 512 bytes, the status byte), at fixed places in a test's guest memory, for
 * the disk tests that look at what the guest would see.
 */
final class OneSectorRequests {
    static final long HEADER = 0x1000, DATA = 0x2000, STATUS = 0x3000;

    private final GuestMemory memory;
    private final TestQueue queue;

    OneSectorRequests(GuestMemory memory, TestQueue queue) {
        this.memory = memory;
        this.queue = queue;
    }

    /** Sends one request of {@code type} for {@code sector}; the data is at DATA. Returns the status. */
    int send(GuestDevice device, int type, long sector, boolean write) {
        memory.write32(HEADER, type);
        memory.write32(HEADER + 4, 0);
        memory.write64(HEADER + 8, sector);
        memory.write64(HEADER + 16, 0);
        memory.write8(STATUS, 0xee);
        List<Buffer> readable = write ? List.of(new Buffer(HEADER, 24), new Buffer(DATA, 512))
                : List.of(new Buffer(HEADER, 24));
        List<Buffer> writable = write ? List.of(new Buffer(STATUS, 1))
                : List.of(new Buffer(DATA, 512), new Buffer(STATUS, 1));
        queue.available.add(new DescriptorChain(memory, 0, readable, writable));
        device.notified(0);
        return memory.read8(STATUS);
    }

    /** Sends a flush (VIRTIO_BLK_T_FLUSH: a header and the status, no data). Returns the status. */
    int flush(GuestDevice device) {
        memory.write32(HEADER, BlockDevice.T_FLUSH);
        memory.write8(STATUS, 0xee);
        queue.available.add(new DescriptorChain(memory, 1, List.of(new Buffer(HEADER, 24)), List.of(new Buffer(STATUS, 1))));
        device.notified(0);
        return memory.read8(STATUS);
    }
}
