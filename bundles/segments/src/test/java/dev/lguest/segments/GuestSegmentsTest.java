/*
 * Tests of the guest GDT: the boot segments, LOAD_GDT and LOAD_TLS with lguest's
 * fix-ups, the host's slots that a guest can never fill, and the descriptor caches
 * handed to the CPU. Each test runs on a small guest over real off-heap memory.
 */
package dev.lguest.segments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class GuestSegmentsTest {
    private static final int PAGES = 16;
    private static final int TABLE = 0x2000;

    private Arena arena;
    private Guest guest;
    private final GuestSegments segments = new GuestSegments();

    @BeforeEach
    void newGuest() {
        arena = Arena.ofConfined();
        MemorySegment ram = arena.allocate(PAGES * 4096L, 4096);
        guest = new Guest(new GuestMemory(ram), new PhysicalMemory(ram), PAGES, Thread.currentThread());
    }

    @AfterEach
    void freeGuest() {
        guest.bus.close();
        arena.close();
    }

    private void putDescriptor(int table, int entry, int low, int high) {
        guest.memory.write32(table + entry * 8L, low);
        guest.memory.write32(table + entry * 8L + 4, high);
    }

    @Test
    void bootSegmentsAreFlatAtRingOne() {
        guest.segments.changed = false;
        segments.setupGuestGdt(guest);

        assertEquals(0x0000ffff, guest.segments.low(Lguest.GDT_ENTRY_KERNEL_CS));
        assertEquals(0x00cfbb00, guest.segments.high(Lguest.GDT_ENTRY_KERNEL_CS));
        assertEquals(0x0000ffff, guest.segments.low(Lguest.GDT_ENTRY_KERNEL_DS));
        assertEquals(0x00cfb300, guest.segments.high(Lguest.GDT_ENTRY_KERNEL_DS));
        assertTrue(guest.segments.changed);

        SegmentCache cs = segments.cacheFor(guest, Lguest.KERNEL_CS);
        assertEquals(new SegmentCache(0x61, 0, 0xffffffff, 0xc0bb), cs);
        assertTrue(cs.isCode());
        assertEquals(1, cs.dpl());
        SegmentCache ds = segments.cacheFor(guest, Lguest.KERNEL_DS);
        assertEquals(0xc0b3, ds.attributes());
        assertTrue(ds.big());
    }

    @Test
    void loadGdtMovesRingZeroToRingOneAndSetsAccessed() {
        // A ring-0 code segment, not yet accessed, limit 0xfffff pages.
        putDescriptor(TABLE, 12, 0x0000ffff, 0x00cf9a00);
        // A ring-3 data segment, left alone except for the accessed bit.
        putDescriptor(TABLE, 14, 0x1234ffff, 0x56cff278);
        // A ring-2 code segment: not ring 0, so its privilege stays.
        putDescriptor(TABLE, 20, 0x0000ffff, 0x00cfda00);
        guest.segments.changed = false;

        segments.loadGdt(guest, TABLE, Lguest.GDT_ENTRIES);

        assertFalse(guest.isDead());
        assertTrue(guest.segments.changed);
        assertEquals(0x00cfbb00, guest.segments.high(12));
        assertEquals(0x0000ffff, guest.segments.low(12));
        assertEquals(0x56cff378, guest.segments.high(14));
        assertEquals(0x00cfdb00, guest.segments.high(20));
        // An empty entry stays empty and unusable.
        assertEquals(0, guest.segments.high(1));
        assertNull(segments.cacheFor(guest, 1 << 3));

        SegmentCache data = segments.cacheFor(guest, (14 << 3) | 3);
        assertEquals(0x56781234, data.base());
        assertEquals(3, data.dpl());
    }

    @Test
    void hostSlotsAreNeverTakenFromTheGuest() {
        segments.setupGuestGdt(guest);
        int[] hostSlots = {Lguest.GDT_ENTRY_LGUEST_CS, Lguest.GDT_ENTRY_LGUEST_DS,
                Lguest.GDT_ENTRY_TSS, Lguest.GDT_ENTRY_DOUBLEFAULT_TSS};
        for (int slot : hostSlots) {
            putDescriptor(TABLE, slot, 0x0000ffff, 0x00cf9b00);
        }

        segments.loadGdt(guest, TABLE, Lguest.GDT_ENTRIES);

        for (int slot : hostSlots) {
            assertEquals(0, guest.segments.low(slot), "slot " + slot);
            assertEquals(0, guest.segments.high(slot), "slot " + slot);
            assertNull(segments.cacheFor(guest, slot << 3), "slot " + slot);
        }
    }

    @Test
    void systemDescriptorsAreMadeUnusable() {
        // A present ring-3 call gate, and a present TSS descriptor.
        putDescriptor(TABLE, 20, 0x00500000, 0x0000ec00);
        putDescriptor(TABLE, 21, 0x00000067, 0x00008900);

        segments.loadGdt(guest, TABLE, 22);

        assertEquals(0x00006c00, guest.segments.high(20));
        assertEquals(0x00000900, guest.segments.high(21));
        assertNull(segments.cacheFor(guest, 20 << 3));
        assertNull(segments.cacheFor(guest, 21 << 3));
    }

    @Test
    void fewerEntriesLeaveTheRestAlone() {
        segments.setupGuestGdt(guest);
        putDescriptor(TABLE, 1, 0x0000ffff, 0x00cf9300);

        segments.loadGdt(guest, TABLE, 2);

        assertEquals(0x00cfb300, guest.segments.high(1));
        assertEquals(0x00cfbb00, guest.segments.high(Lguest.GDT_ENTRY_KERNEL_CS));
    }

    @Test
    void tooManyEntriesKills() {
        segments.setupGuestGdt(guest);
        segments.loadGdt(guest, TABLE, Lguest.GDT_ENTRIES + 1);
        assertTrue(guest.isDead());
        assertTrue(guest.deadReason().contains("too many gdt entries"), guest.deadReason());
        assertEquals(0x00cfbb00, guest.segments.high(Lguest.GDT_ENTRY_KERNEL_CS));
    }

    @Test
    void negativeCountIsTooManyNotAnException() {
        segments.loadGdt(guest, TABLE, -1);
        assertTrue(guest.isDead());
    }

    @Test
    void tableOutsideGuestMemoryKillsWithoutThrowing() {
        segments.setupGuestGdt(guest);
        segments.loadGdt(guest, PAGES * 4096 - 8, Lguest.GDT_ENTRIES);
        assertTrue(guest.isDead());
        assertTrue(guest.deadReason().contains("bad read address"), guest.deadReason());
        // Nothing of the bad table was taken.
        assertEquals(0x00cfbb00, guest.segments.high(Lguest.GDT_ENTRY_KERNEL_CS));
    }

    @Test
    void wrappingAddressKills() {
        segments.loadTls(guest, 0xfffffff8);
        assertTrue(guest.isDead());
    }

    @Test
    void loadTlsFixesUpOnlyTheThreeTlsSlots() {
        segments.setupGuestGdt(guest);
        putDescriptor(TABLE, 0, 0x0000ffff, 0x00cf9200);
        putDescriptor(TABLE, 1, 0x0000ffff, 0x00cff200);
        putDescriptor(TABLE, 2, 0, 0);
        putDescriptor(TABLE, 3, 0x0000ffff, 0x00cf9200);
        guest.segments.changed = false;

        segments.loadTls(guest, TABLE);

        assertTrue(guest.segments.changed);
        assertEquals(0x00cfb300, guest.segments.high(Lguest.GDT_ENTRY_TLS_MIN));
        assertEquals(0x00cff300, guest.segments.high(Lguest.GDT_ENTRY_TLS_MIN + 1));
        assertEquals(0, guest.segments.high(Lguest.GDT_ENTRY_TLS_MIN + 2));
        // The entry after the TLS slots was not read.
        assertEquals(0, guest.segments.high(Lguest.GDT_ENTRY_TLS_MIN + 3));
        assertEquals(0x00cfbb00, guest.segments.high(Lguest.GDT_ENTRY_KERNEL_CS));
    }

    @Test
    void cacheForRefusesUnusableSelectors() {
        segments.setupGuestGdt(guest);
        assertNull(segments.cacheFor(guest, 0));
        assertNull(segments.cacheFor(guest, 3));
        // The LDT bit: the guest has none.
        assertNull(segments.cacheFor(guest, Lguest.KERNEL_CS | 4));
        assertNull(segments.cacheFor(guest, Lguest.GDT_ENTRIES << 3));
        assertNull(segments.cacheFor(guest, 0xffff));
        assertNull(segments.cacheFor(guest, Lguest.LGUEST_CS));

        // Not present.
        guest.segments.set(20, 0x0000ffff, 0x00cf3300);
        assertNull(segments.cacheFor(guest, 20 << 3));

        SegmentCache cs = segments.cacheFor(guest, Lguest.KERNEL_CS);
        assertNotNull(cs);
        assertEquals(1, cs.rpl());
    }
}
