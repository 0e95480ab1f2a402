package dev.lguest.api;

import dev.lguest.api.cpu.X86;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.mmu.PageEntries;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** lguest's entry rules as every MMU implementation applies them, and the entry helpers. */
class PageEntriesTest {
    /** A guest owning frames 0..15. */
    private static Guest guestWithSixteenFrames() {
        MemorySegment ram = Arena.ofAuto().allocate(16 * 4096);
        return new Guest(new GuestMemory(ram), new PhysicalMemory(ram), 16, Thread.currentThread());
    }

    @Test
    void anOrdinaryPageTableInsideTheGuestIsAccepted() {
        Guest guest = guestWithSixteenFrames();
        assertTrue(PageEntries.directoryEntryAcceptable(guest, (15 << 12) | PageEntries.PAGE_TABLE_FLAGS));
        assertTrue(PageEntries.pteAcceptable(guest, (15 << 12) | X86.PTE_PRESENT | X86.PTE_RW | X86.PTE_USER));
        assertNull(guest.deadReason());
    }

    @Test
    void aLargePageDirectoryEntryKills() {
        Guest guest = guestWithSixteenFrames();
        assertFalse(PageEntries.directoryEntryAcceptable(guest, (1 << 12) | X86.PTE_PRESENT | X86.PTE_PSE));
        assertEquals("bad page directory entry 0x1081", guest.deadReason());
    }

    @Test
    void aDirectoryEntryBeyondTheGuestsFramesKills() {
        Guest guest = guestWithSixteenFrames();
        assertFalse(PageEntries.directoryEntryAcceptable(guest, (16 << 12) | X86.PTE_PRESENT));
        assertEquals("bad page directory entry 0x10001", guest.deadReason());
    }

    @Test
    void aWriteThroughOrPatPteKills() {
        Guest writeThrough = guestWithSixteenFrames();
        assertFalse(PageEntries.pteAcceptable(writeThrough, (2 << 12) | X86.PTE_PRESENT | X86.PTE_PWT));
        assertEquals("bad page table entry 0x2009", writeThrough.deadReason());
        Guest pat = guestWithSixteenFrames();
        assertFalse(PageEntries.pteAcceptable(pat, (2 << 12) | X86.PTE_PRESENT | X86.PTE_PSE));
        assertTrue(pat.isDead());
    }

    @Test
    void aPteBeyondTheGuestsFramesKillsEvenWhenNotPresent() {
        // lguest checks the frame before looking at the present bit: the guest may
        // not even store such an entry through SET_PTE.
        Guest guest = guestWithSixteenFrames();
        assertFalse(PageEntries.pteAcceptable(guest, 16 << 12));
        assertEquals("bad page table entry 0x10000", guest.deadReason());
    }

    @Test
    void entriesAreLittleEndianWordsIndexedByTheAddressBits() {
        MemorySegment page = Arena.ofAuto().allocate(4096);
        PageEntries.write(page, 1023, 0x12345067);
        assertEquals(0x67, page.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 4092));
        assertEquals(0x12345067, PageEntries.read(page, 1023));
        assertEquals(0x3ff, PageEntries.directoryIndex(0xffc01000));
        assertEquals(1, PageEntries.tableIndex(0xffc01000));
        assertEquals(0x12345, PageEntries.frame(0x12345067));
        assertEquals(0x067, PageEntries.flags(0x12345067));
    }
}
