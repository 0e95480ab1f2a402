/*
 * Live migration's dirty log through the shadow page tables: once a log is attached
 * and writeProtect has run, every page is read-only in the shadow tables; the guest's
 * first store to a page faults, is marked in the log, and the shadow becomes writable;
 * draining the log and protecting again starts the next round with every page clean.
 * The host's own writes through GuestMemory are marked too, and the pinned kernel
 * stack stays writable (a trap onto it must never fault).
 *
 * A contract: every ShadowPageTables implementation's tests extend this class.
 */
package dev.lguest.testing.mmu;

import dev.lguest.api.cpu.X86;
import dev.lguest.api.memory.DirtyLog;
import dev.lguest.api.mmu.ShadowPageTables;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static dev.lguest.testing.mmu.MmuFixture.KERNEL_ADDRESS;
import static dev.lguest.testing.mmu.MmuFixture.PGDIR_A;
import static dev.lguest.testing.mmu.MmuFixture.PGDIR_B;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

public abstract class DirtyLogContract {
    /** A fresh instance of the implementation under test. */
    protected abstract ShadowPageTables newTables();

    private static final int P = X86.PTE_PRESENT, RW = X86.PTE_RW, ACCESSED = X86.PTE_ACCESSED,
            DIRTY = X86.PTE_DIRTY;
    private static final int READ = 0, WRITE = X86.PF_WRITE;

    private MmuFixture fixture;
    private DirtyLog log;

    @BeforeEach
    public void bootGuest() {
        fixture = new MmuFixture(newTables());
        fixture.tables.init(fixture.guest, PGDIR_A);
        log = new DirtyLog(MmuFixture.RAM_BYTES);
    }

    @AfterEach
    public void tearDown() {
        fixture.close();
    }

    /** The guest's pte pages are host writes too: starting the log after them keeps the test's marks to the guest's. */
    private void startLogging() {
        fixture.memory().logWrites(log);
        assertTrue(fixture.tables.writeProtect(fixture.guest));
        log.drain();
    }

    @Test
    public void aPageWrittenBeforeTheLogIsReadOnlyOnceItStarts() {
        int vaddr = 0x0040_0000;
        fixture.map(PGDIR_A, vaddr, 0x300, P | RW);
        assertTrue(fixture.tables.demandPage(fixture.guest, vaddr, WRITE));
        assertEquals(RW, fixture.shadowPte(vaddr) & RW);

        startLogging();

        assertEquals(0, fixture.shadowPte(vaddr) & RW, "write-protected for the log");
        assertEquals(P, fixture.shadowPte(vaddr) & P, "still mapped: reads go on without a fault");
    }

    @Test
    public void theFirstWriteToAPageFaultsMarksItAndMakesItWritable() {
        int vaddr = 0x0040_0000;
        fixture.map(PGDIR_A, vaddr, 0x300, P | RW | ACCESSED | DIRTY);
        startLogging();

        assertTrue(fixture.tables.demandPage(fixture.guest, vaddr, READ));
        assertEquals(0, fixture.shadowPte(vaddr) & RW, "a read does not make a page dirty");
        assertFalse(log.isDirty(0x300));

        assertTrue(fixture.tables.demandPage(fixture.guest, vaddr, X86.PF_PROT | WRITE));
        assertTrue(log.isDirty(0x300));
        assertEquals(RW, fixture.shadowPte(vaddr) & RW, "writable until the next round");
    }

    @Test
    public void drainingAndProtectingAgainStartsTheNextRoundClean() {
        int a = 0x0040_0000, b = 0x0040_1000;
        fixture.map(PGDIR_A, a, 0x300, P | RW);
        fixture.map(PGDIR_A, b, 0x301, P | RW);
        startLogging();
        fixture.tables.demandPage(fixture.guest, a, WRITE);
        fixture.tables.demandPage(fixture.guest, b, WRITE);
        int pteFrame = (int) (fixture.pteAddress(PGDIR_A, a) >>> 12);

        int[] first = log.drain();
        assertTrue(fixture.tables.writeProtect(fixture.guest));
        assertArrayEquals(new int[] {0x300, 0x301}, without(first, pteFrame),
                "both pages, and the guest's pte page the walker set the dirty bits in");
        assertEquals(0, fixture.shadowPte(a) & RW);
        assertEquals(0, fixture.shadowPte(b) & RW);

        fixture.tables.demandPage(fixture.guest, b, X86.PF_PROT | WRITE);
        assertArrayEquals(new int[] {0x301}, without(log.drain(), pteFrame));
    }

    @Test
    public void aPteTheGuestSetsDirtyIsInstalledReadOnlyWhileItsPageIsClean() {
        int vaddr = 0x0040_0000;
        fixture.map(PGDIR_A, vaddr, 0x300, P | RW);
        fixture.tables.demandPage(fixture.guest, vaddr, READ);
        startLogging();

        fixture.tables.setPte(fixture.guest, PGDIR_A, vaddr, 0x302 << 12 | P | RW | ACCESSED | DIRTY);

        assertEquals(0x302, fixture.shadowPte(vaddr) >>> 12);
        assertEquals(0, fixture.shadowPte(vaddr) & RW, "the log has not seen a write to it yet");
    }

    @Test
    public void everyShadowDirectoryIsProtectedNotOnlyTheCurrentOne() {
        int user = 0x0040_0000;
        fixture.map(PGDIR_A, user, 0x300, P | RW);
        fixture.tables.demandPage(fixture.guest, user, WRITE);
        fixture.tables.newPageTable(fixture.guest, PGDIR_B);
        int rootB = fixture.tables.shadowRoot(fixture.guest);
        fixture.tables.newPageTable(fixture.guest, PGDIR_A);
        int rootA = fixture.tables.shadowRoot(fixture.guest);
        if (rootA == rootB) {
            return; // one shadow directory for all (the simple MMU): the current one is all there is
        }
        startLogging();
        fixture.tables.newPageTable(fixture.guest, PGDIR_A);
        assertEquals(0, fixture.shadowPte(user) & RW);
    }

    @Test
    public void theHostsOwnWritesAreMarked() {
        startLogging();
        fixture.memory().write32(0x12_3450L, 7);
        fixture.memory().write(0x1ffe, new byte[4]);
        assertArrayEquals(new int[] {0x1, 0x2, 0x123}, log.drain());
    }

    @Test
    public void thePinnedKernelStackStaysWritableAndCountsAsWritten() {
        int stackTop = KERNEL_ADDRESS + 0x2000;
        fixture.map(PGDIR_A, KERNEL_ADDRESS + 0x1000, 0x310, P | RW);
        fixture.guest.traps.esp1 = stackTop;
        fixture.guest.traps.stackPages = 1;
        assertTrue(fixture.tables.pinStackPages(fixture.guest, stackTop, 1));
        startLogging();
        assertTrue(fixture.tables.writeProtect(fixture.guest));

        assertEquals(RW, fixture.shadowPte(KERNEL_ADDRESS + 0x1000) & RW, "a trap must never fault on its stack");
        assertTrue(log.isDirty(0x310), "the stack may be written at any time: it is always sent");
        assertFalse(fixture.guest.isDead());
    }

    private static int[] without(int[] pfns, int pfn) {
        return java.util.Arrays.stream(pfns).filter(p -> p != pfn).toArray();
    }
}
