/*
 * Guests that break the rules: frames that are not theirs, large pages, a mapping
 * over the switcher, page directories outside their memory. Each one must end in a
 * dead guest with a reason a human can read, never in an exception escaping to the
 * Launcher, and never in the guest reaching a page it does not own.
 *
 * A contract: every ShadowPageTables implementation's tests extend this class.
 */
package dev.lguest.testing.mmu;

import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.guest.Lguest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static dev.lguest.testing.mmu.MmuFixture.PFN_LIMIT;
import static dev.lguest.testing.mmu.MmuFixture.PGDIR_A;
import static dev.lguest.testing.mmu.MmuFixture.PGDIR_B;
import static dev.lguest.testing.mmu.MmuFixture.TABLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

public abstract class HostileGuestContract {
    /** A fresh instance of the implementation under test. */
    protected abstract ShadowPageTables newTables();

    private static final int P = X86.PTE_PRESENT, RW = X86.PTE_RW, ACCESSED = X86.PTE_ACCESSED,
            DIRTY = X86.PTE_DIRTY;

    private MmuFixture fixture;

    @BeforeEach
    public void createGuest() {
        fixture = new MmuFixture(newTables());
    }

    @AfterEach
    public void tearDown() {
        fixture.close();
    }

    private void assertKilled(String reasonPart) {
        assertTrue(fixture.guest.isDead(), "guest should be dead");
        assertTrue(fixture.guest.deadReason().contains(reasonPart),
                () -> "reason \"" + fixture.guest.deadReason() + "\" lacks \"" + reasonPart + "\"");
    }

    @Test
    public void aPteNamingAFrameBeyondTheLimitKills() {
        fixture.tables.init(fixture.guest, PGDIR_A);
        int vaddr = 0x0040_0000;
        // Inside the RAM we were given, but the Launcher's, not the guest's.
        fixture.map(PGDIR_A, vaddr, PFN_LIMIT, P | RW);

        assertFalse(fixture.tables.demandPage(fixture.guest, vaddr, 0));

        assertKilled("bad page table entry");
        assertEquals(0, fixture.shadowPte(vaddr));
    }

    @Test
    public void aPteJustBelowTheLimitIsFine() {
        fixture.tables.init(fixture.guest, PGDIR_A);
        fixture.map(PGDIR_A, 0x0040_0000, PFN_LIMIT - 1, P | RW);
        assertTrue(fixture.tables.demandPage(fixture.guest, 0x0040_0000, 0));
        assertFalse(fixture.guest.isDead());
    }

    @Test
    public void setPteNamingAFrameBeyondTheLimitKills() {
        fixture.tables.init(fixture.guest, PGDIR_A);
        int vaddr = 0x0040_0000;
        fixture.map(PGDIR_A, vaddr, 0x300, P | RW);
        assertTrue(fixture.tables.demandPage(fixture.guest, vaddr, 0));

        fixture.tables.setPte(fixture.guest, PGDIR_A, vaddr, 0xFFFFF << 12 | P | RW | ACCESSED | DIRTY);

        assertKilled("bad page table entry");
        assertEquals(0, fixture.shadowPte(vaddr));
    }

    @Test
    public void aLargePageDirectoryEntryKills() {
        fixture.tables.init(fixture.guest, PGDIR_A);
        int vaddr = 0x0080_0000;
        fixture.setDirectoryEntry(PGDIR_A, vaddr >>> 22, 0x0040_0000 | P | RW | X86.PTE_PSE);

        assertFalse(fixture.tables.demandPage(fixture.guest, vaddr, 0));

        assertKilled("bad page directory entry");
        assertEquals(-1L, newTables().guestPhysical(fixture.guest, vaddr));
    }

    @Test
    public void aDirectoryEntryBeyondTheLimitKills() {
        fixture.tables.init(fixture.guest, PGDIR_A);
        int vaddr = 0x0080_0000;
        fixture.setDirectoryEntry(PGDIR_A, vaddr >>> 22, (PFN_LIMIT + 5) << 12 | TABLE);

        assertFalse(fixture.tables.demandPage(fixture.guest, vaddr, 0));

        assertKilled("bad page directory entry");
    }

    @Test
    public void touchingAGuestMappingOfTheSwitcherSlotKills() {
        fixture.tables.init(fixture.guest, PGDIR_A);
        fixture.map(PGDIR_A, Lguest.SWITCHER_ADDR, 0x300, P | RW);

        assertFalse(fixture.tables.demandPage(fixture.guest, Lguest.SWITCHER_ADDR + 0x1000, 0));

        assertKilled("switcher");
    }

    @Test
    public void aFaultInTheEmptySwitcherSlotIsJustAFault() {
        fixture.tables.init(fixture.guest, PGDIR_A);
        assertFalse(fixture.tables.demandPage(fixture.guest, Lguest.SWITCHER_ADDR, X86.PF_USER));
        assertFalse(fixture.guest.isDead());
    }

    @Test
    public void anInitialPgdirMappingTheSwitcherKills() {
        fixture.setDirectoryEntry(PGDIR_A, Lguest.SWITCHER_PGD_INDEX, 0x50000 | TABLE);
        fixture.tables.init(fixture.guest, PGDIR_A);
        assertKilled("switcher");
    }

    @Test
    public void setPmdOfTheSwitcherSlotKillsOnlyIfTheGuestMappedIt() {
        fixture.tables.init(fixture.guest, PGDIR_A);
        fixture.tables.setPmd(fixture.guest, PGDIR_A, Lguest.SWITCHER_PGD_INDEX);
        assertFalse(fixture.guest.isDead(), "clearing the slot is harmless");

        fixture.setDirectoryEntry(PGDIR_A, Lguest.SWITCHER_PGD_INDEX, 0x50000 | TABLE);
        fixture.tables.setPmd(fixture.guest, PGDIR_A, Lguest.SWITCHER_PGD_INDEX);
        assertKilled("switcher");
    }

    @Test
    public void setPmdBeyondTheDirectoryKills() {
        fixture.tables.init(fixture.guest, PGDIR_A);
        fixture.tables.setPmd(fixture.guest, PGDIR_A, 1024);
        assertKilled("bad page directory index");
    }

    @Test
    public void setPteInTheSwitcherSlotKills() {
        fixture.tables.init(fixture.guest, PGDIR_A);
        fixture.tables.setPte(fixture.guest, PGDIR_A, Lguest.SWITCHER_ADDR, 0x300 << 12 | P | ACCESSED);
        assertKilled("switcher");
    }

    @Test
    public void theSwitcherSlotIsNeverCopiedFromTheGuest() {
        int switcherPageTable = fixture.guest.bus.allocateHostPage();
        fixture.guest.paging.switcherPageTable = switcherPageTable;
        fixture.tables.init(fixture.guest, PGDIR_A);
        fixture.setDirectoryEntry(PGDIR_A, Lguest.SWITCHER_PGD_INDEX, 0x50000 | TABLE);
        fixture.tables.demandPage(fixture.guest, Lguest.SWITCHER_ADDR, 0);
        assertEquals(switcherPageTable << 12 | P | RW,
                fixture.shadowDirectoryEntry(Lguest.SWITCHER_PGD_INDEX));
    }

    @Test
    public void anInitialPgdirOutsideMemoryKillsWithoutThrowing() {
        fixture.tables.init(fixture.guest, 0x7FFF_F000);
        assertKilled("bad read address");
        fixture.tables.release(fixture.guest);
        assertEquals(0, fixture.hostPagesInUse());
    }

    @Test
    public void aPgdirStraddlingTheEndOfMemoryKills() {
        fixture.tables.init(fixture.guest, MmuFixture.RAM_BYTES - 8);
        assertKilled("bad read address");
    }

    @Test
    public void aNewPgtableOutsideMemoryKillsOnFirstUse() {
        fixture.tables.init(fixture.guest, PGDIR_A);
        fixture.tables.newPageTable(fixture.guest, 0xFFFF_F000);
        assertFalse(fixture.guest.isDead(), "like lguest, nothing is read until it is used");

        assertFalse(fixture.tables.demandPage(fixture.guest, 0x0040_0000, 0));

        assertKilled("bad read address");
    }

    @Test
    public void guestPhysicalOnAHostilePgdirKillsAndAnswersUnmapped() {
        fixture.tables.init(fixture.guest, PGDIR_A);
        fixture.tables.newPageTable(fixture.guest, -4);
        assertEquals(-1L, fixture.tables.guestPhysical(fixture.guest, 0x1000));
        assertKilled("bad read address");
    }

    /**
     * guestPhysical (instruction emulation, trap frames) walks the guest's tables as a
     * fault does: a page table or a frame past the limit is the Launcher's, so the
     * guest dies and nothing is read from there or handed out. Found by fuzzing: the
     * walk read the Launcher's memory as a pte and answered a frame beyond the guest.
     */
    @Test
    public void guestPhysicalThroughAPageTablePastTheLimitKills() {
        fixture.tables.init(fixture.guest, PGDIR_A);
        int vaddr = 0x0080_0000;
        fixture.setDirectoryEntry(PGDIR_A, vaddr >>> 22, (PFN_LIMIT + 5) << 12 | TABLE);
        assertEquals(-1L, fixture.tables.guestPhysical(fixture.guest, vaddr));
        assertKilled("bad page directory entry");
    }

    @Test
    public void guestPhysicalOfAFramePastTheLimitKills() {
        fixture.tables.init(fixture.guest, PGDIR_A);
        int vaddr = 0x0040_0000;
        fixture.map(PGDIR_A, vaddr, PFN_LIMIT + 1, P | RW);
        assertEquals(-1L, fixture.tables.guestPhysical(fixture.guest, vaddr));
        assertKilled("bad page table entry");
    }

    @Test
    public void aPageTableOutsideMemoryKills() {
        // The limit reaches beyond the RAM we have: the check that saves us is the
        // bounds check on guest memory, and it too must end in a kill.
        MmuFixture wide = new MmuFixture(newTables(), 4096);
        try {
            wide.tables.init(wide.guest, PGDIR_B);
            wide.setDirectoryEntry(PGDIR_B, 1, 3000 << 12 | TABLE);
            assertFalse(wide.tables.demandPage(wide.guest, 0x0040_0000, 0));
            assertTrue(wide.guest.isDead());
            assertTrue(wide.guest.deadReason().contains("bad read address"));
        } finally {
            wide.close();
        }
    }

    @Test
    public void aPgdirOutsideMemoryIsReportedInLguestsWordsWithoutJavaText() {
        fixture.tables.init(fixture.guest, PGDIR_A);
        fixture.tables.newPageTable(fixture.guest, 0xE000_0000);
        assertFalse(fixture.tables.demandPage(fixture.guest, 0x0010_0000, 0));
        assertEquals("bad read address 0xe0000000 len 4 (guest page tables for 0x100000)",
                fixture.guest.deadReason());
    }

    @Test
    public void aKernelStackInTheSwitcherSlotKillsAsLguestDoes() {
        // SET_STACK with esp 0: its page would be the very top of the address space.
        fixture.tables.init(fixture.guest, PGDIR_A);
        assertFalse(fixture.tables.pinStackPages(fixture.guest, 0, 1));
        assertKilled("attempt to access switcher pages");
    }

    @Test
    public void aDeadGuestGetsNoMoreMappings() {
        fixture.tables.init(fixture.guest, PGDIR_A);
        fixture.map(PGDIR_A, 0x0040_0000, 0x300, P | RW);
        fixture.guest.kill("test");
        assertFalse(fixture.tables.demandPage(fixture.guest, 0x0040_0000, 0));
        assertEquals(0, fixture.shadowPte(0x0040_0000));
        assertEquals("test", fixture.guest.deadReason());
    }
}
