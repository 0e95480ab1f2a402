package dev.lguest.api;

import dev.lguest.api.memory.DirtyLog;
import dev.lguest.api.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The dirty log's bitmap: marks by page and by range (a write across a page boundary
 * marks both pages), pages outside the memory ignored, a drain that returns the marked
 * pages in order and leaves the log clean; and GuestMemory marking what it writes only
 * while a log is attached.
 */
class DirtyLogTest {
    @Test
    void marksRangesAndDrainsInOrder() {
        DirtyLog log = new DirtyLog(200 * 4096L);
        log.mark(130);
        log.markRange(4095, 2);
        log.markRange(64 * 4096L, 4096);
        log.mark(130);
        log.mark(200);
        log.mark(-1);
        assertEquals(4, log.count());
        assertTrue(log.isDirty(64));
        assertFalse(log.isDirty(65));
        assertArrayEquals(new int[] {0, 1, 64, 130}, log.drain());
        assertEquals(0, log.count());
        assertArrayEquals(new int[0], log.drain());
    }

    @Test
    void guestMemoryMarksItsWritesWhileALogIsAttached() {
        try (Arena arena = Arena.ofConfined()) {
            GuestMemory memory = new GuestMemory(arena.allocate(16 * 4096L));
            memory.write32(3 * 4096L, 1);
            DirtyLog log = new DirtyLog(memory.size());
            memory.logWrites(log);
            memory.write16(5 * 4096L + 4095, 7);
            memory.fill(9 * 4096L, 4096, (byte) 1);
            memory.read32(12 * 4096L);
            memory.logWrites(null);
            memory.write8(14 * 4096L, 1);
            assertArrayEquals(new int[] {5, 6, 9}, log.drain());
        }
    }

    @Test
    void drainsPagesFarApartAndMarkedAgainAfterADrain() {
        // 64 MiB: the drain reads only the words a mark named (the summary), so pages in
        // the first and the last word, and a page marked again after its drain, all come back.
        DirtyLog log = new DirtyLog(64L << 20);
        log.mark(3);
        log.mark(16383);
        log.mark(8200);
        assertArrayEquals(new int[] {3, 8200, 16383}, log.drain());
        log.mark(8200);
        log.mark(8201);
        assertArrayEquals(new int[] {8200, 8201}, log.drain());
        assertArrayEquals(new int[0], log.drain());
    }

    @Test
    void hostWritesGoToTheirOwnLogBesideAMigrationsLog() {
        try (Arena arena = Arena.ofConfined()) {
            GuestMemory memory = new GuestMemory(arena.allocate(16 * 4096L));
            DirtyLog migration = new DirtyLog(memory.size());
            DirtyLog host = new DirtyLog(memory.size());
            memory.logWrites(migration);
            memory.logHostWrites(host);
            memory.write32(2 * 4096L, 1);
            memory.logWrites(null);
            memory.write32(7 * 4096L + 4094, 1);
            assertArrayEquals(new int[] {2}, migration.drain());
            assertArrayEquals(new int[] {2, 7, 8}, host.drain());
            memory.logHostWrites(null);
            memory.write8(1, 1);
            assertArrayEquals(new int[0], host.drain());
        }
    }
}
