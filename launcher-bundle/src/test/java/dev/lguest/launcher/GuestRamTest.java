package dev.lguest.launcher;

import dev.lguest.api.memory.PhysicalMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The guest's memory from the kernel: zero, page-aligned, writable, gone with its arena. */
class GuestRamTest {
    private static final long SIZE = 24L << 20;

    @Test
    void memoryIsZeroAlignedWritableAndLivesAsLongAsItsArena() {
        Arena arena = Arena.ofShared();
        MemorySegment ram = GuestRam.allocate(arena, SIZE);
        assertEquals(SIZE, ram.byteSize());
        assertEquals(0, ram.address() % PhysicalMemory.PAGE_SIZE, "page-aligned");
        for (long at = 0; at < SIZE; at += PhysicalMemory.PAGE_SIZE) {
            assertEquals(0L, ram.get(ValueLayout.JAVA_LONG_UNALIGNED, at + (at / PhysicalMemory.PAGE_SIZE % 512) * 8));
        }
        assertEquals(-1L, ram.asSlice(SIZE - 8).mismatch(MemorySegment.ofArray(new long[1])));
        ram.set(ValueLayout.JAVA_INT_UNALIGNED, SIZE - 4, 0x12345678);
        ram.set(ValueLayout.JAVA_BYTE, 0, (byte) 7);
        assertEquals(0x12345678, ram.get(ValueLayout.JAVA_INT_UNALIGNED, SIZE - 4));
        assertEquals(7, ram.get(ValueLayout.JAVA_BYTE, 0));
        arena.close();
        assertThrows(IllegalStateException.class, () -> ram.get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void onLinuxTheMemoryIsMappedNotCleared() {
        if (System.getProperty("os.name").toLowerCase().startsWith("linux")) {
            assertTrue(GuestRam.mapsFromKernel(), "mmap is used on Linux (native access enabled)");
        }
    }

    @Test
    void manyGuestsComeAndGoWithoutKeepingTheirMemory() {
        // 64 x 256 MB mapped and unmapped in turn: without munmap at close the process
        // would hold 16 GB of address space with pages it wrote.
        for (int i = 0; i < 64; i++) {
            try (Arena arena = Arena.ofShared()) {
                MemorySegment ram = GuestRam.allocate(arena, 256L << 20);
                ram.set(ValueLayout.JAVA_LONG, (i * 4096L) % (256L << 20), i);
                assertEquals(i, ram.get(ValueLayout.JAVA_LONG, (i * 4096L) % (256L << 20)));
            }
        }
    }
}
