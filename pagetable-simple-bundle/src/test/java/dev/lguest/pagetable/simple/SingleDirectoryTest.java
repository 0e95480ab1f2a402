/*
 * What is particular to the simple implementation: one shadow directory per guest,
 * emptied on every NEW_PGTABLE (the root stays, the pte pages go back to the pool),
 * SET_PTE and SET_PMD reaching only the directory in use (or kernel addresses),
 * FLUSH_TLB dropping the user half or everything, the switcher's slot surviving it
 * all, and every host page coming back on release or when another implementation's
 * leftovers are found in the guest.
 */
package dev.lguest.pagetable.simple;

import dev.lguest.testing.StateOnlyCpu;
import dev.lguest.testing.mmu.MmuFixture;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.guest.Lguest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static dev.lguest.testing.mmu.MmuFixture.KERNEL_ADDRESS;
import static dev.lguest.testing.mmu.MmuFixture.PGDIR_A;
import static dev.lguest.testing.mmu.MmuFixture.PGDIR_B;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SingleDirectoryTest {
    private static final int P = X86.PTE_PRESENT, RW = X86.PTE_RW, USER = X86.PTE_USER,
            ACCESSED = X86.PTE_ACCESSED;
    private static final int USER_PAGE = 0x0804_8000;
    private static final int KERNEL_PAGE = 0xC010_0000;

    private MmuFixture fixture;
    private int hostPagesBefore;
    private int switcherPageTable;

    @BeforeEach
    void bootGuest() {
        fixture = new MmuFixture(new SimpleShadowPageTables());
        switcherPageTable = fixture.guest.bus.allocateHostPage();
        fixture.guest.paging.switcherPageTable = switcherPageTable;
        hostPagesBefore = fixture.hostPagesInUse();
        fixture.map(PGDIR_A, USER_PAGE, 0x200, P | RW | USER);
        fixture.map(PGDIR_B, USER_PAGE, 0x201, P | RW | USER);
        fixture.map(PGDIR_A, KERNEL_PAGE, 0x100, P | RW);
        fixture.share(PGDIR_A, PGDIR_B, KERNEL_PAGE);
        fixture.tables.init(fixture.guest, PGDIR_A);
        fixture.guest.kernelAddress = KERNEL_ADDRESS;
    }

    @AfterEach
    void tearDown() {
        fixture.close();
    }

    private void touchBoth() {
        assertTrue(fixture.tables.demandPage(fixture.guest, USER_PAGE, X86.PF_USER));
        assertTrue(fixture.tables.demandPage(fixture.guest, KERNEL_PAGE, 0));
    }

    private int switcherEntry() {
        return switcherPageTable << 12 | P | RW;
    }

    @Test
    void initMakesOneEmptyDirectoryWithTheSwitcherMapped() {
        assertEquals(PGDIR_A, fixture.guest.paging.guestPgdir);
        assertSame(fixture.tables, fixture.guest.paging.cacheOwner);
        assertEquals(hostPagesBefore + 1, fixture.hostPagesInUse());
        assertEquals(switcherEntry(), fixture.shadowDirectoryEntry(Lguest.SWITCHER_PGD_INDEX));
        assertEquals(0, fixture.shadowPte(USER_PAGE));
    }

    @Test
    void newPgtableEmptiesTheOneDirectoryAndKeepsItsRoot() {
        touchBoth();
        int root = fixture.tables.shadowRoot(fixture.guest);
        assertEquals(hostPagesBefore + 3, fixture.hostPagesInUse(), "directory, user and kernel pte pages");

        fixture.tables.newPageTable(fixture.guest, PGDIR_B);

        assertEquals(PGDIR_B, fixture.guest.paging.guestPgdir);
        assertEquals(root, fixture.tables.shadowRoot(fixture.guest), "still the one directory");
        assertEquals(0, fixture.shadowPte(USER_PAGE), "user half gone");
        assertEquals(0, fixture.shadowPte(KERNEL_PAGE), "kernel half gone too: no cache");
        assertEquals(hostPagesBefore + 1, fixture.hostPagesInUse(), "pte pages back in the pool");
        assertEquals(switcherEntry(), fixture.shadowDirectoryEntry(Lguest.SWITCHER_PGD_INDEX));

        touchBoth();
        assertEquals(0x201, fixture.shadowPte(USER_PAGE) >>> 12, "refilled from the new directory");
    }

    @Test
    void goingBackToAnEarlierDirectoryStartsFromEmptyAgain() {
        touchBoth();
        fixture.tables.newPageTable(fixture.guest, PGDIR_B);
        fixture.tables.newPageTable(fixture.guest, PGDIR_A);
        assertEquals(0, fixture.shadowPte(USER_PAGE));
        assertTrue(fixture.tables.demandPage(fixture.guest, USER_PAGE, X86.PF_USER));
        assertEquals(0x200, fixture.shadowPte(USER_PAGE) >>> 12);
    }

    @Test
    void newPgtableLoadsCr3AndRepinsTheKernelStack() {
        StateOnlyCpu cpu = new StateOnlyCpu();
        fixture.guest.setCpu(cpu, this);
        fixture.guest.traps.esp1 = KERNEL_PAGE + 0x1000;
        fixture.guest.traps.stackPages = 1;

        fixture.tables.newPageTable(fixture.guest, PGDIR_B);

        assertEquals(fixture.tables.shadowRoot(fixture.guest), cpu.cr3Loads.getLast());
        assertEquals(P | RW, fixture.shadowPte(KERNEL_PAGE) & (P | RW), "the stack is mapped writable at once");
        assertFalse(fixture.guest.isDead());
    }

    @Test
    void setPteOnAnotherDirectoryReachesOnlyKernelAddresses() {
        touchBoth();
        fixture.tables.setPte(fixture.guest, PGDIR_B, USER_PAGE, 0);
        assertEquals(0x200, fixture.shadowPte(USER_PAGE) >>> 12, "PGDIR_B is not shadowed");

        fixture.tables.setPte(fixture.guest, PGDIR_B, KERNEL_PAGE, 0);
        assertEquals(0, fixture.shadowPte(KERNEL_PAGE), "kernel mappings are shared by every directory");

        fixture.tables.setPte(fixture.guest, PGDIR_A, USER_PAGE, 0x333 << 12 | P | RW | USER | ACCESSED);
        assertEquals(0x333 << 12 | P | USER | ACCESSED, fixture.shadowPte(USER_PAGE),
                "an accessed entry is installed at once, read-only until dirty");
    }

    @Test
    void setPmdDropsOneSlotOfTheDirectoryInUse() {
        touchBoth();
        fixture.tables.setPmd(fixture.guest, PGDIR_B, USER_PAGE >>> 22);
        assertTrue(fixture.shadowPte(USER_PAGE) != 0, "another directory's slot is not ours");

        fixture.tables.setPmd(fixture.guest, PGDIR_A, USER_PAGE >>> 22);
        assertEquals(0, fixture.shadowDirectoryEntry(USER_PAGE >>> 22));
        assertTrue(fixture.shadowPte(KERNEL_PAGE) != 0);
        assertEquals(hostPagesBefore + 2, fixture.hostPagesInUse());
    }

    @Test
    void flushDropsTheUserHalfOrEverything() {
        touchBoth();
        fixture.tables.flush(fixture.guest, false);
        assertEquals(0, fixture.shadowPte(USER_PAGE));
        assertTrue(fixture.shadowPte(KERNEL_PAGE) != 0);

        fixture.tables.flush(fixture.guest, true);
        assertEquals(0, fixture.shadowPte(KERNEL_PAGE));
        assertEquals(hostPagesBefore + 1, fixture.hostPagesInUse());
        assertEquals(switcherEntry(), fixture.shadowDirectoryEntry(Lguest.SWITCHER_PGD_INDEX));
    }

    @Test
    void releaseGivesBackEveryHostPage() {
        touchBoth();
        fixture.tables.release(fixture.guest);
        assertEquals(hostPagesBefore, fixture.hostPagesInUse());
        assertNull(fixture.guest.paging.cache);
    }

    @Test
    void aShadowLeftByAnotherImplementationIsClosedAndReplaced() {
        touchBoth();
        SimpleShadowPageTables replacement = new SimpleShadowPageTables();

        assertEquals(0, fixture.shadowPte(replacement.shadowRoot(fixture.guest), USER_PAGE), "starts empty");
        assertSame(replacement, fixture.guest.paging.cacheOwner);
        assertEquals(hostPagesBefore + 1, fixture.hostPagesInUse(), "the old shadow's pages were freed");

        assertTrue(replacement.demandPage(fixture.guest, USER_PAGE, X86.PF_USER));
        assertEquals(0x200, fixture.shadowPte(replacement.shadowRoot(fixture.guest), USER_PAGE) >>> 12);
    }

    @Test
    void aForeignCacheThatIsNotCloseableIsOnlyDropped() {
        fixture.guest.paging.cache = "something another implementation kept";
        fixture.guest.paging.cacheOwner = new Object();
        assertTrue(fixture.tables.demandPage(fixture.guest, USER_PAGE, X86.PF_USER));
        assertSame(fixture.tables, fixture.guest.paging.cacheOwner);
        assertFalse(fixture.guest.isDead());
    }
}
