package dev.lguest.launcher;

import dev.lguest.api.launcher.DescriptorChain;
import dev.lguest.api.launcher.VirtqueueFault;
import dev.lguest.api.memory.DirtyLog;
import dev.lguest.api.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The host side of a virtqueue against rings built by hand in guest memory, the way a
 * guest driver (or a hostile guest) would write them.
 */
class VirtqueueRingTest {
    private static final long MEMORY = 1 << 20;
    private static final long RING = 0x10000;
    private static final int NUM = 8;

    private final GuestMemory memory = new GuestMemory(Arena.ofAuto().allocate(MEMORY));
    private final List<Integer> irqs = new ArrayList<>();
    private final VirtqueueRing ring = new VirtqueueRing(memory, "test queue", RING, NUM, 5, irqs::add);

    private void descriptor(int index, long address, int length, int flags, int next) {
        long d = RING + 16L * index;
        memory.write64(d, address);
        memory.write32(d + 8, length);
        memory.write16(d + 12, flags);
        memory.write16(d + 14, next);
    }

    /** Makes {@code head} available, as the guest's add_buf and kick do. */
    private void offer(int head) {
        long avail = RING + 16L * NUM;
        int idx = memory.read16(avail + 2);
        memory.write16(avail + 4 + 2L * (idx % NUM), head);
        memory.write16(avail + 2, idx + 1);
    }

    private String faultOf(Runnable r) {
        return assertThrows(VirtqueueFault.class, r::run).getMessage();
    }

    @Test
    void layoutIsTheLegacyOne() {
        assertEquals(RING + 16 * NUM, ring.availableRing());
        assertEquals(RING + 0x1000, ring.usedRing());
        // 128 entries: 2048 bytes of descriptors, 260 of available ring, a page, then 1028 of used ring.
        assertEquals(0x1000 + 4 + 8 * 128, VirtqueueRing.bytes(128));
        assertEquals(2, VirtqueueRing.pages(128));
    }

    @Test
    void nothingAvailableIsNull() {
        assertNull(ring.next());
    }

    @Test
    void aChainSplitsIntoReadableThenWritable() {
        descriptor(3, 0x1000, 16, VirtqueueRing.DESC_F_NEXT, 6);
        descriptor(6, 0x2000, 512, VirtqueueRing.DESC_F_NEXT | VirtqueueRing.DESC_F_WRITE, 1);
        descriptor(1, 0x3000, 1, VirtqueueRing.DESC_F_WRITE, 0);
        offer(3);
        DescriptorChain chain = ring.next();
        assertEquals(3, chain.head());
        assertEquals(List.of(new DescriptorChain.Buffer(0x1000, 16)), chain.readable());
        assertEquals(List.of(new DescriptorChain.Buffer(0x2000, 512), new DescriptorChain.Buffer(0x3000, 1)),
                chain.writable());
        assertNull(ring.next());

        ring.used(chain, 513);
        assertEquals(1, memory.read16(ring.usedRing() + 2));
        assertEquals(3, memory.read32(ring.usedRing() + 4));
        assertEquals(513, memory.read32(ring.usedRing() + 8));
    }

    @Test
    void handedBackBuffersAreNamedToTheGuestsCpuBeforeTheIndexMoves() {
        // A read from disk fills 0x2000-0x21ff and 0x5000 straight through their
        // segments, as DMA would: the switcher's host-write log must name their frames,
        // and its watcher (which stops a running CPU) must run while the guest cannot
        // yet see the used index, or the CPU could run stale code decoded from them.
        DirtyLog hostWrites = new DirtyLog(MEMORY);
        memory.logHostWrites(hostWrites);
        List<String> seenByWatcher = new ArrayList<>();
        memory.watchDeviceWrites(() -> seenByWatcher.add("index " + memory.read16(ring.usedRing() + 2)
                + ", frames 2 and 5 named: " + (hostWrites.isDirty(2) && hostWrites.isDirty(5))));
        descriptor(3, 0x1000, 16, VirtqueueRing.DESC_F_NEXT, 6);
        descriptor(6, 0x2000, 512, VirtqueueRing.DESC_F_NEXT | VirtqueueRing.DESC_F_WRITE, 1);
        descriptor(1, 0x5000, 1, VirtqueueRing.DESC_F_WRITE, 0);
        offer(3);
        DescriptorChain chain = ring.next();
        hostWrites.drain();
        chain.segment(chain.writable().get(0)).fill((byte) 0x90);
        chain.segment(chain.writable().get(1)).fill((byte) 0xc3);

        ring.used(chain, 513);
        assertEquals("index 0, frames 2 and 5 named: true", seenByWatcher.getLast());
        assertTrue(hostWrites.isDirty(2) && hostWrites.isDirty(5));
        assertFalse(hostWrites.isDirty(1), "the readable buffer was not written");
        assertEquals(1, memory.read16(ring.usedRing() + 2));
    }

    @Test
    void indexesWrapAroundTheRing() {
        descriptor(0, 0x1000, 4, 0, 0);
        for (int i = 0; i < 3 * NUM; i++) {
            offer(0);
            DescriptorChain chain = ring.next();
            ring.used(chain, 0);
        }
        assertEquals(3 * NUM, memory.read16(ring.usedRing() + 2));
    }

    @Test
    void interruptUnlessTheGuestSaysNo() {
        ring.interrupt();
        assertEquals(List.of(5), irqs);
        memory.write16(ring.availableRing(), VirtqueueRing.AVAIL_F_NO_INTERRUPT);
        ring.interrupt();
        assertEquals(List.of(5), irqs);
        ring.interruptEvenIfSuppressed();
        assertEquals(List.of(5, 5), irqs, "a device that must be heard raises it all the same");
    }

    @Test
    void availableIndexMovedTooFar() {
        memory.write16(ring.availableRing() + 2, NUM + 1);
        assertEquals("test queue: the guest moved the available index from 0 to 9", faultOf(ring::next));
    }

    @Test
    void headOutOfRange() {
        offer(NUM);
        assertEquals("test queue: the guest says descriptor 8 is available, of 8", faultOf(ring::next));
    }

    @Test
    void nextOutOfRange() {
        descriptor(0, 0x1000, 4, VirtqueueRing.DESC_F_NEXT, 200);
        offer(0);
        assertEquals("test queue: descriptor 0 chains to 200, outside the ring of 8", faultOf(ring::next));
    }

    @Test
    void aLoopIsAChainLongerThanTheRing() {
        descriptor(0, 0x1000, 4, VirtqueueRing.DESC_F_NEXT, 1);
        descriptor(1, 0x1000, 4, VirtqueueRing.DESC_F_NEXT, 0);
        offer(0);
        assertEquals("test queue: descriptor chain from 0 is longer than the ring: a loop", faultOf(ring::next));
        // A descriptor pointing at itself too.
        descriptor(2, 0x1000, 4, VirtqueueRing.DESC_F_NEXT, 2);
        offer(2);
        assertTrue(faultOf(ring::next).contains("a loop"));
    }

    @Test
    void buffersOutsideGuestMemory() {
        descriptor(0, MEMORY, 1, 0, 0);
        offer(0);
        assertEquals("test queue: descriptor 0 points outside guest memory (0x100000, 1 bytes)", faultOf(ring::next));
        // Address + length wraps past 2^32 and would look small if added in 32 bits.
        descriptor(1, MEMORY - 16, 0xfffffff0, 0, 0);
        offer(1);
        assertTrue(faultOf(ring::next).contains("outside guest memory"));
        // An address with the top bit set is negative as a Java long.
        descriptor(2, 0x8000_0000_0000_1000L, 4, 0, 0);
        offer(2);
        assertTrue(faultOf(ring::next).contains("outside guest memory"));
        // A buffer that ends exactly at the top is fine.
        descriptor(3, MEMORY - 16, 16, 0, 0);
        offer(3);
        assertEquals(MEMORY - 16, ring.next().readable().get(0).address());
    }

    @Test
    void readableAfterWritable() {
        descriptor(0, 0x1000, 4, VirtqueueRing.DESC_F_WRITE | VirtqueueRing.DESC_F_NEXT, 1);
        descriptor(1, 0x2000, 4, 0, 0);
        offer(0);
        assertEquals("test queue: descriptor 1 is readable but follows a writable one", faultOf(ring::next));
    }
}
