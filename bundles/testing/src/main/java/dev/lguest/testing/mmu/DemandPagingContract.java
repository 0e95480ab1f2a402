/*
 * Demand paging: a fault the guest's own tables allow is fixed up silently with the
 * right frame and flags; one they forbid goes back to the guest untouched. Also the
 * dirty-bit trick (clean pages mapped read-only until the first write), the kernel
 * stack pinning built on it, and guestPhysical's walk of the guest's tables.
 *
 * A contract: every ShadowPageTables implementation's tests extend this class.
 */
package dev.lguest.testing.mmu;

import dev.lguest.testing.StateOnlyCpu;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.cpu.X86;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static dev.lguest.testing.mmu.MmuFixture.PGDIR_A;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

public abstract class DemandPagingContract {
    /** A fresh instance of the implementation under test. */
    protected abstract ShadowPageTables newTables();

    private static final int P = X86.PTE_PRESENT, RW = X86.PTE_RW, USER = X86.PTE_USER,
            ACCESSED = X86.PTE_ACCESSED, DIRTY = X86.PTE_DIRTY;
    private static final int READ = 0, WRITE = X86.PF_WRITE, USER_MODE = X86.PF_USER;

    private MmuFixture fixture;

    @BeforeEach
    public void bootGuest() {
        fixture = new MmuFixture(newTables());
        fixture.tables.init(fixture.guest, PGDIR_A);
    }

    @AfterEach
    public void tearDown() {
        fixture.close();
    }

    @Test
    public void readFaultInstallsTheGuestFrameReadOnlyAndMarksItAccessed() {
        int vaddr = 0x0040_1234;
        fixture.map(PGDIR_A, vaddr, 0x300, P | RW | USER);

        assertTrue(fixture.tables.demandPage(fixture.guest, vaddr, READ | USER_MODE));

        int shadow = fixture.shadowPte(vaddr);
        assertEquals(0x300, shadow >>> 12, "guest frame is the host frame: RAM is 1:1");
        assertEquals(P | USER | ACCESSED, shadow & 0xFFF, "clean page: writable only once dirty");
        assertEquals(0x300 << 12 | P | RW | USER | ACCESSED, fixture.guestPte(PGDIR_A, vaddr));
        assertEquals(MmuFixture.TABLE, fixture.shadowDirectoryEntry(vaddr >>> 22) & 0xFFF,
                "the shadow directory entry keeps the guest's flags");
        assertFalse(fixture.guest.isDead());
    }

    @Test
    public void firstWriteToACleanPageMarksItDirtyAndMakesTheShadowWritable() {
        int vaddr = 0x0080_0000;
        fixture.map(PGDIR_A, vaddr, 0x321, P | RW);
        assertTrue(fixture.tables.demandPage(fixture.guest, vaddr, READ));
        assertEquals(0, fixture.shadowPte(vaddr) & RW);

        // The CPU faults on the read-only shadow: a protection fault on a write.
        assertTrue(fixture.tables.demandPage(fixture.guest, vaddr, X86.PF_PROT | WRITE));

        assertEquals(0x321 << 12 | P | RW | ACCESSED | DIRTY, fixture.guestPte(PGDIR_A, vaddr));
        assertEquals(0x321 << 12 | P | RW | ACCESSED | DIRTY, fixture.shadowPte(vaddr));
    }

    @Test
    public void writeFaultOnAnUntouchedPageSetsBothBitsAtOnce() {
        int vaddr = 0x0100_0000;
        fixture.map(PGDIR_A, vaddr, 0x222, P | RW);
        assertTrue(fixture.tables.demandPage(fixture.guest, vaddr, WRITE));
        assertEquals(P | RW | ACCESSED | DIRTY, fixture.guestPte(PGDIR_A, vaddr) & 0xFFF);
        assertEquals(P | RW | ACCESSED | DIRTY, fixture.shadowPte(vaddr) & 0xFFF);
    }

    @Test
    public void aPageAlreadyDirtyIsMappedWritableOnARead() {
        int vaddr = 0x0100_0000;
        fixture.map(PGDIR_A, vaddr, 0x222, P | RW | DIRTY);
        assertTrue(fixture.tables.demandPage(fixture.guest, vaddr, READ));
        assertEquals(P | RW | ACCESSED | DIRTY, fixture.shadowPte(vaddr) & 0xFFF);
    }

    @Test
    public void theGlobalBitIsNotCopied() {
        int vaddr = 0xC000_0000;
        fixture.map(PGDIR_A, vaddr, 0x100, P | RW | X86.PTE_GLOBAL);
        assertTrue(fixture.tables.demandPage(fixture.guest, vaddr, READ));
        assertEquals(0, fixture.shadowPte(vaddr) & X86.PTE_GLOBAL);
    }

    @Test
    public void faultsTheGuestForbidsAreReflectedAndChangeNothing() {
        int readOnly = 0x0040_0000, kernelOnly = 0x0040_1000, absent = 0x0040_2000;
        fixture.map(PGDIR_A, readOnly, 0x301, P | USER);
        fixture.map(PGDIR_A, kernelOnly, 0x302, P | RW);
        fixture.map(PGDIR_A, absent, 0x303, RW | USER);

        assertFalse(fixture.tables.demandPage(fixture.guest, 0x7000_0000, READ), "directory entry absent");
        assertFalse(fixture.tables.demandPage(fixture.guest, absent, READ), "pte absent");
        assertFalse(fixture.tables.demandPage(fixture.guest, readOnly, WRITE), "write to a read-only page");
        assertFalse(fixture.tables.demandPage(fixture.guest, kernelOnly, READ | USER_MODE),
                "user access to a supervisor page");

        assertEquals(0x301 << 12 | P | USER, fixture.guestPte(PGDIR_A, readOnly), "no accessed bit on refusal");
        assertEquals(0x302 << 12 | P | RW, fixture.guestPte(PGDIR_A, kernelOnly));
        assertEquals(0, fixture.shadowPte(readOnly));
        assertEquals(0, fixture.shadowPte(kernelOnly));
        assertFalse(fixture.guest.isDead());

        // The same page is fine for the kernel (ring 1 is supervisor) and for reads.
        assertTrue(fixture.tables.demandPage(fixture.guest, kernelOnly, READ));
        assertTrue(fixture.tables.demandPage(fixture.guest, readOnly, READ | USER_MODE));
    }

    @Test
    public void theDirectoryLevelPermissionsCountToo() {
        int vaddr = 0x0400_0000;
        // A supervisor, read-only directory entry over a user, writable pte.
        fixture.setDirectoryEntry(PGDIR_A, vaddr >>> 22, 0x50000 | P | ACCESSED);
        fixture.memory().write32(0x50000, 0x200 << 12 | P | RW | USER);

        assertFalse(fixture.tables.demandPage(fixture.guest, vaddr, READ | USER_MODE));
        assertFalse(fixture.tables.demandPage(fixture.guest, vaddr, WRITE));
        assertTrue(fixture.tables.demandPage(fixture.guest, vaddr, READ));
        assertFalse(fixture.guest.isDead());
    }

    @Test
    public void pinningMakesCleanStackPagesWritable() {
        int top = 0xC030_0000;
        fixture.map(PGDIR_A, top - 0x1000, 0x131, P | RW);
        fixture.map(PGDIR_A, top - 0x2000, 0x130, P | RW);
        assertTrue(fixture.tables.demandPage(fixture.guest, top - 0x1000, READ));

        assertTrue(fixture.tables.pinStackPages(fixture.guest, top, 2));

        for (int page = 1; page <= 2; page++) {
            assertEquals(P | RW, fixture.shadowPte(top - page * 0x1000) & (P | RW));
            assertEquals(DIRTY, fixture.guestPte(PGDIR_A, top - page * 0x1000) & DIRTY);
        }
        assertFalse(fixture.guest.isDead());
    }

    @Test
    public void anUnmappedStackKillsTheGuest() {
        int top = 0xC030_0000;
        fixture.map(PGDIR_A, top - 0x1000, 0x131, P | RW);

        assertFalse(fixture.tables.pinStackPages(fixture.guest, top, 2));

        assertTrue(fixture.guest.isDead());
        assertEquals("bad stack page 0xc02fefff", fixture.guest.deadReason());
    }

    @Test
    public void aReadOnlyStackKillsTheGuest() {
        int top = 0xC030_0000;
        fixture.map(PGDIR_A, top - 0x1000, 0x131, P);
        assertFalse(fixture.tables.pinStackPages(fixture.guest, top, 1));
        assertTrue(fixture.guest.deadReason().startsWith("bad stack page"));
    }

    @Test
    public void guestPhysicalWalksTheGuestTablesNotTheShadow() {
        int vaddr = 0xC012_3456;
        fixture.map(PGDIR_A, vaddr, 0x123, P | RW);

        assertEquals(0x123456L, fixture.tables.guestPhysical(fixture.guest, vaddr), "no fault needed first");
        assertEquals(-1L, fixture.tables.guestPhysical(fixture.guest, 0x0000_5000));
        assertEquals(-1L, fixture.tables.guestPhysical(fixture.guest, vaddr + 0x1000));
        assertFalse(fixture.guest.isDead());
    }

    @Test
    public void tlbEntriesAreDroppedWhenAPresentShadowEntryChanges() {
        StateOnlyCpu cpu = new StateOnlyCpu();
        fixture.guest.setCpu(cpu, this);
        int vaddr = 0x0080_0000;
        fixture.map(PGDIR_A, vaddr, 0x321, P | RW);

        assertTrue(fixture.tables.demandPage(fixture.guest, vaddr, READ));
        assertTrue(cpu.invalidatedPages.isEmpty(), "a not-present entry is never in the TLB");
        assertTrue(fixture.tables.demandPage(fixture.guest, vaddr, WRITE));
        assertEquals(java.util.List.of(vaddr), cpu.invalidatedPages, "the read-only copy must go");
    }
}
