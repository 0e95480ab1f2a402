/*
 * The life of the shadow directories: the four kept per guest and picked up again on
 * NEW_PGTABLE, eviction keeping the shared kernel half, SET_PTE reaching every
 * directory for kernel addresses, SET_PMD and FLUSH_TLB dropping pte pages, the
 * switcher's slot surviving everything, and every host page coming back on release
 * or when a replacement component takes the guest over.
 */
package dev.lguest.pagetable;

import dev.lguest.testing.StateOnlyCpu;
import dev.lguest.testing.mmu.MmuFixture;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.guest.Lguest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static dev.lguest.testing.mmu.MmuFixture.KERNEL_ADDRESS;
import static dev.lguest.testing.mmu.MmuFixture.PGDIR_A;
import static dev.lguest.testing.mmu.MmuFixture.PGDIR_B;
import static dev.lguest.testing.mmu.MmuFixture.PGDIR_C;
import static dev.lguest.testing.mmu.MmuFixture.PGDIR_D;
import static dev.lguest.testing.mmu.MmuFixture.PGDIR_E;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DirectoryCacheTest {
    private static final int P = X86.PTE_PRESENT, RW = X86.PTE_RW, USER = X86.PTE_USER,
            ACCESSED = X86.PTE_ACCESSED, DIRTY = X86.PTE_DIRTY;
    private static final int[] PGDIRS = {PGDIR_A, PGDIR_B, PGDIR_C, PGDIR_D, PGDIR_E};
    private static final int USER_PAGE = 0x0804_8000;
    private static final int KERNEL_PAGE = 0xC010_0000;

    private MmuFixture fixture;
    private int hostPagesBefore;
    private int switcherPageTable;

    @BeforeEach
    void bootGuest() {
        fixture = new MmuFixture(new LguestShadowPageTables());
        // The switcher's page table is a host page the switcher owns, not us.
        switcherPageTable = fixture.guest.bus.allocateHostPage();
        fixture.guest.paging.switcherPageTable = switcherPageTable;
        hostPagesBefore = fixture.hostPagesInUse();

        // Five address spaces, each with its own user page and one shared kernel table.
        for (int i = 0; i < PGDIRS.length; i++) {
            fixture.map(PGDIRS[i], USER_PAGE, 0x200 + i, P | RW | USER);
        }
        fixture.map(PGDIR_A, KERNEL_PAGE, 0x100, P | RW);
        for (int i = 1; i < PGDIRS.length; i++) {
            fixture.share(PGDIR_A, PGDIRS[i], KERNEL_PAGE);
        }
        fixture.tables.init(fixture.guest, PGDIR_A);
        fixture.guest.kernelAddress = KERNEL_ADDRESS;
    }

    @AfterEach
    void tearDown() {
        fixture.close();
    }

    private int switcherEntry() {
        return switcherPageTable << 12 | P | RW;
    }

    private void touchBoth() {
        assertTrue(fixture.tables.demandPage(fixture.guest, USER_PAGE, X86.PF_USER));
        assertTrue(fixture.tables.demandPage(fixture.guest, KERNEL_PAGE, 0));
    }

    @Test
    void initSetsUpOneDirectoryOnTheLaunchersPgdir() {
        assertEquals(PGDIR_A, fixture.guest.paging.guestPgdir);
        assertSame(fixture.tables, fixture.guest.paging.cacheOwner);
        assertEquals(hostPagesBefore + 1, fixture.hostPagesInUse());
        assertEquals(switcherEntry(), fixture.shadowDirectoryEntry(Lguest.SWITCHER_PGD_INDEX));
        assertFalse(fixture.guest.isDead());
    }

    @Test
    void fourDirectoriesAreKeptAndReusedOnNewPgtable() {
        Set<Integer> roots = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            fixture.tables.newPageTable(fixture.guest, PGDIRS[i]);
            touchBoth();
            roots.add(fixture.tables.shadowRoot(fixture.guest));
            assertEquals(0x200 + i, fixture.shadowPte(USER_PAGE) >>> 12);
        }
        assertEquals(4, roots.size());
        // Four directories, each with a user and a kernel pte page.
        assertEquals(hostPagesBefore + 4 * 3, fixture.hostPagesInUse());

        // Going back finds each shadow as it was left: no fault needed.
        for (int i = 0; i < 4; i++) {
            fixture.tables.newPageTable(fixture.guest, PGDIRS[i]);
            assertEquals(PGDIRS[i], fixture.guest.paging.guestPgdir);
            assertTrue(roots.contains(fixture.tables.shadowRoot(fixture.guest)));
            assertEquals(0x200 + i, fixture.shadowPte(USER_PAGE) >>> 12);
            assertEquals(switcherEntry(), fixture.shadowDirectoryEntry(Lguest.SWITCHER_PGD_INDEX));
        }
        assertEquals(hostPagesBefore + 4 * 3, fixture.hostPagesInUse(), "nothing allocated on reuse");
    }

    @Test
    void aFifthDirectoryEvictsOneButKeepsItsKernelHalf() {
        for (int i = 0; i < 4; i++) {
            fixture.tables.newPageTable(fixture.guest, PGDIRS[i]);
            touchBoth();
        }
        int inUse = fixture.hostPagesInUse();

        fixture.tables.newPageTable(fixture.guest, PGDIR_E);

        int root = fixture.tables.shadowRoot(fixture.guest);
        assertEquals(0, fixture.shadowPte(root, USER_PAGE), "the evicted address space's user page is gone");
        assertEquals(0x100, fixture.shadowPte(root, KERNEL_PAGE) >>> 12, "kernel mappings are shared");
        assertEquals(switcherEntry(), fixture.shadowDirectoryEntry(root, Lguest.SWITCHER_PGD_INDEX));
        assertEquals(inUse - 1, fixture.hostPagesInUse(), "only the user pte page was freed");

        assertTrue(fixture.tables.demandPage(fixture.guest, USER_PAGE, X86.PF_USER));
        assertEquals(0x204, fixture.shadowPte(USER_PAGE) >>> 12);

        // Exactly one of the first four was evicted and is rebuilt when used again.
        int evicted = 0;
        for (int i = 0; i < 4; i++) {
            fixture.tables.newPageTable(fixture.guest, PGDIRS[i]);
            if (fixture.shadowPte(USER_PAGE) == 0) {
                evicted++;
                assertTrue(fixture.tables.demandPage(fixture.guest, USER_PAGE, X86.PF_USER));
            }
            assertEquals(0x200 + i, fixture.shadowPte(USER_PAGE) >>> 12);
        }
        assertTrue(evicted >= 1);
    }

    @Test
    void setPteOnAKernelAddressReachesEveryCachedDirectory() {
        List<Integer> roots = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            fixture.tables.newPageTable(fixture.guest, PGDIRS[i]);
            touchBoth();
            roots.add(fixture.tables.shadowRoot(fixture.guest));
        }

        // Linux sets accessed and dirty itself when it makes a writable kernel pte.
        int newPte = 0x150 << 12 | P | RW | ACCESSED | DIRTY;
        fixture.setGuestPte(PGDIR_A, KERNEL_PAGE, newPte);
        fixture.tables.setPte(fixture.guest, PGDIR_C, KERNEL_PAGE, newPte);
        for (int root : roots) {
            assertEquals(newPte, fixture.shadowPte(root, KERNEL_PAGE));
        }

        // Accessed but clean: mapped, but read-only so the first write is seen.
        int cleanPte = 0x151 << 12 | P | RW | ACCESSED;
        fixture.tables.setPte(fixture.guest, PGDIR_A, KERNEL_PAGE, cleanPte);
        for (int root : roots) {
            assertEquals(0x151 << 12 | P | ACCESSED, fixture.shadowPte(root, KERNEL_PAGE));
        }

        // Never accessed: simply dropped everywhere, to be demand-paged later.
        fixture.tables.setPte(fixture.guest, PGDIR_A, KERNEL_PAGE, 0x152 << 12 | P | RW);
        for (int root : roots) {
            assertEquals(0, fixture.shadowPte(root, KERNEL_PAGE));
        }
        assertFalse(fixture.guest.isDead());
    }

    @Test
    void setPteOnAUserAddressOnlyTouchesThatDirectory() {
        fixture.tables.newPageTable(fixture.guest, PGDIR_A);
        touchBoth();
        int rootA = fixture.tables.shadowRoot(fixture.guest);
        fixture.tables.newPageTable(fixture.guest, PGDIR_B);
        touchBoth();
        int rootB = fixture.tables.shadowRoot(fixture.guest);

        fixture.tables.setPte(fixture.guest, PGDIR_A, USER_PAGE, 0);

        assertEquals(0, fixture.shadowPte(rootA, USER_PAGE));
        assertEquals(0x201, fixture.shadowPte(rootB, USER_PAGE) >>> 12);

        // A directory we do not shadow is ignored.
        fixture.tables.setPte(fixture.guest, 0x9000, USER_PAGE, 0);
        assertEquals(0x201, fixture.shadowPte(rootB, USER_PAGE) >>> 12);
        assertFalse(fixture.guest.isDead());
    }

    @Test
    void setPmdDropsThatPtePage() {
        touchBoth();
        int inUse = fixture.hostPagesInUse();

        fixture.tables.setPmd(fixture.guest, PGDIR_A, USER_PAGE >>> 22);

        assertEquals(0, fixture.shadowDirectoryEntry(USER_PAGE >>> 22));
        assertEquals(0x100, fixture.shadowPte(KERNEL_PAGE) >>> 12);
        assertEquals(inUse - 1, fixture.hostPagesInUse());
        // A directory we do not shadow: nothing happens.
        fixture.tables.setPmd(fixture.guest, PGDIR_B, KERNEL_PAGE >>> 22);
        assertEquals(0x100, fixture.shadowPte(KERNEL_PAGE) >>> 12);
        assertFalse(fixture.guest.isDead());
    }

    @Test
    void setPmdOnTheCurrentDirectoryForgetsThatSlotAloneFromTheTlb() {
        StateOnlyCpu cpu = new StateOnlyCpu();
        fixture.guest.setCpu(cpu, this);
        touchBoth();
        int slot = USER_PAGE >>> 22;

        fixture.tables.setPmd(fixture.guest, PGDIR_A, slot);

        // Every page of the slot's 4 MiB, as INVLPG of each would: no translation from
        // the pte page just released stays in the TLB. No CR3 reload: the other slots'
        // translations (the kernel's here) are still good.
        Set<Integer> expected = new HashSet<>();
        for (int page = 0; page < 1024; page++) {
            expected.add(slot << 22 | page << 12);
        }
        assertEquals(expected, new HashSet<>(cpu.invalidatedPages));
        assertEquals(1024, cpu.invalidatedPages.size());
        assertEquals(List.of(), cpu.cr3Loads);

        // A slot with no shadow pte page, or another directory's: the TLB holds
        // nothing from either, so nothing is dropped.
        cpu.invalidatedPages.clear();
        fixture.tables.setPmd(fixture.guest, PGDIR_A, slot);
        fixture.tables.setPmd(fixture.guest, PGDIR_B, KERNEL_PAGE >>> 22);
        assertEquals(List.of(), cpu.invalidatedPages);
        assertEquals(List.of(), cpu.cr3Loads);
        assertFalse(fixture.guest.isDead());
    }

    @Test
    void userFlushKeepsKernelMappingsAndTheSwitcher() {
        StateOnlyCpu cpu = new StateOnlyCpu();
        fixture.guest.setCpu(cpu, this);
        touchBoth();

        fixture.tables.flush(fixture.guest, false);

        int root = fixture.tables.shadowRoot(fixture.guest);
        assertEquals(0, fixture.shadowDirectoryEntry(USER_PAGE >>> 22));
        assertEquals(0x100, fixture.shadowPte(KERNEL_PAGE) >>> 12);
        assertEquals(switcherEntry(), fixture.shadowDirectoryEntry(Lguest.SWITCHER_PGD_INDEX));
        assertEquals(List.of(root), cpu.cr3Loads, "the TLB is flushed by reloading CR3");
        assertEquals(hostPagesBefore + 2, fixture.hostPagesInUse());
    }

    @Test
    void fullFlushDropsEverythingButTheSwitcherInEveryDirectory() {
        fixture.tables.newPageTable(fixture.guest, PGDIR_B);
        touchBoth();
        int rootB = fixture.tables.shadowRoot(fixture.guest);
        fixture.tables.newPageTable(fixture.guest, PGDIR_A);
        touchBoth();

        fixture.tables.flush(fixture.guest, true);

        for (int root : List.of(rootB, fixture.tables.shadowRoot(fixture.guest))) {
            for (int slot = 0; slot < Lguest.SWITCHER_PGD_INDEX; slot++) {
                assertEquals(0, fixture.shadowDirectoryEntry(root, slot));
            }
            assertEquals(switcherEntry(), fixture.shadowDirectoryEntry(root, Lguest.SWITCHER_PGD_INDEX));
        }
        assertEquals(hostPagesBefore + 2, fixture.hostPagesInUse(), "just the two directory pages");
    }

    @Test
    void beforeLguestInitEverythingCountsAsUser() {
        fixture.guest.kernelAddress = 0;
        touchBoth();
        fixture.tables.flush(fixture.guest, false);
        assertEquals(0, fixture.shadowPte(KERNEL_PAGE));
        assertEquals(switcherEntry(), fixture.shadowDirectoryEntry(Lguest.SWITCHER_PGD_INDEX));
    }

    @Test
    void aFlushRepinsTheKernelStack() {
        int top = KERNEL_PAGE + 0x1000;
        fixture.guest.traps.esp1 = top;
        fixture.guest.traps.stackPages = 1;
        touchBoth();

        fixture.tables.flush(fixture.guest, true);

        assertEquals(P | RW, fixture.shadowPte(KERNEL_PAGE) & (P | RW));
        assertEquals(0, fixture.shadowDirectoryEntry(USER_PAGE >>> 22));
    }

    @Test
    void theSwitcherSlotFollowsTheSwitchersPageTable() {
        int rebuilt = fixture.guest.bus.allocateHostPage();
        fixture.guest.paging.switcherPageTable = rebuilt;
        assertEquals(rebuilt << 12 | P | RW, fixture.shadowDirectoryEntry(Lguest.SWITCHER_PGD_INDEX));
        fixture.guest.bus.freeHostPage(rebuilt);
        fixture.guest.paging.switcherPageTable = switcherPageTable;
    }

    @Test
    void releaseReturnsEveryHostPage() {
        for (int round = 0; round < 3; round++) {
            for (int pgdir : PGDIRS) {
                fixture.tables.newPageTable(fixture.guest, pgdir);
                touchBoth();
                assertTrue(fixture.tables.demandPage(fixture.guest, USER_PAGE, X86.PF_WRITE));
            }
        }
        assertTrue(fixture.hostPagesInUse() > hostPagesBefore);

        fixture.tables.release(fixture.guest);

        assertEquals(hostPagesBefore, fixture.hostPagesInUse());
        assertEquals(null, fixture.guest.paging.cache);
        fixture.tables.release(fixture.guest);
        assertEquals(hostPagesBefore, fixture.hostPagesInUse(), "a second release frees nothing twice");
    }

    @Test
    void aReplacementComponentStartsEmptyAndTheOldPagesComeBack() {
        touchBoth();
        assertEquals(hostPagesBefore + 3, fixture.hostPagesInUse());

        StateOnlyCpu cpu = new StateOnlyCpu();
        fixture.guest.setCpu(cpu, this);
        LguestShadowPageTables replacement = new LguestShadowPageTables();
        int newRoot = replacement.shadowRoot(fixture.guest);

        assertEquals(List.of(newRoot), cpu.cr3Loads, "nothing cached from the old tables survives");

        assertSame(replacement, fixture.guest.paging.cacheOwner);
        assertEquals(hostPagesBefore + 1, fixture.hostPagesInUse(), "only the new blank directory");
        assertEquals(0, fixture.shadowPte(newRoot, USER_PAGE));
        assertEquals(switcherEntry(), fixture.shadowDirectoryEntry(newRoot, Lguest.SWITCHER_PGD_INDEX));
        assertTrue(replacement.demandPage(fixture.guest, USER_PAGE, X86.PF_USER));
        assertEquals(0x200, fixture.shadowPte(newRoot, USER_PAGE) >>> 12);

        replacement.release(fixture.guest);
        assertEquals(hostPagesBefore, fixture.hostPagesInUse());
    }

    @Test
    void aForeignCacheIsDroppedWithoutTouchingIt() {
        Object foreign = new Object();
        fixture.tables.release(fixture.guest);
        fixture.guest.paging.cache = foreign;
        fixture.guest.paging.cacheOwner = new Object();

        fixture.tables.shadowRoot(fixture.guest);

        assertSame(fixture.tables, fixture.guest.paging.cacheOwner);
        assertNotEquals(foreign, fixture.guest.paging.cache);
        assertFalse(fixture.guest.isDead());
    }
}
