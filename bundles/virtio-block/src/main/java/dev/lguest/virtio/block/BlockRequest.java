package dev.lguest.virtio.block;

import dev.lguest.api.launcher.DescriptorChain;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * One virtio block request as 2.6.24's virtio_blk.c lays it out in a descriptor chain:
 *
 *   readable: the header {u32 type, u32 ioprio, u64 sector, u64 id} in a buffer of its
 *             own (16 bytes in later kernels, which dropped the id), then for a write
 *             the data;
 *   writable: for a read the data, and last of all one status byte.
 *
 * The header is taken from the first readable buffer only, so that the data starts
 * at a buffer boundary whatever the header's length. A chain without a place for the
 * status byte cannot even be answered: {@link #parse} returns null for it.
 */
record BlockRequest(DescriptorChain chain, int type, long sector, List<Region> readableData,
                    List<Region> writableData, Region status, boolean headerOk) {
    /** A piece of a guest buffer: [offset, offset+length) of that buffer. */
    record Region(DescriptorChain.Buffer buffer, long offset, long length) {
    }

    /** The guest memory behind a region of this request. */
    MemorySegment segment(Region region) {
        return chain.segment(region.buffer()).asSlice(region.offset(), region.length());
    }

    static final int HEADER_BYTES = 16;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static long length(List<Region> regions) {
        return regions.stream().mapToLong(Region::length).sum();
    }

    /** Splits a chain into a request; null if it has no byte for the status. */
    static BlockRequest parse(DescriptorChain chain) {
        List<DescriptorChain.Buffer> writable = chain.writable();
        int last = writable.size() - 1;
        while (last >= 0 && writable.get(last).length() == 0) {
            last--;
        }
        if (last < 0) {
            return null;
        }
        DescriptorChain.Buffer statusBuffer = writable.get(last);
        Region status = new Region(statusBuffer, statusBuffer.length() - 1, 1);
        List<Region> writableData = new ArrayList<>();
        for (int i = 0; i < last; i++) {
            writableData.add(new Region(writable.get(i), 0, writable.get(i).length()));
        }
        if (statusBuffer.length() > 1) {
            writableData.add(new Region(statusBuffer, 0, statusBuffer.length() - 1));
        }
        List<DescriptorChain.Buffer> readable = chain.readable();
        if (readable.isEmpty() || readable.get(0).length() < HEADER_BYTES) {
            // No header where the device can read it: a request we cannot make sense of.
            return new BlockRequest(chain, -1, 0, List.of(), writableData, status, false);
        }
        MemorySegment header = chain.segment(readable.get(0));
        List<Region> readableData = readable.subList(1, readable.size()).stream()
                .map(b -> new Region(b, 0, b.length())).toList();
        return new BlockRequest(chain, header.get(U32, 0), header.get(U64, 8), readableData, writableData, status, true);
    }
}
