/*
 * A small guest for the page table tests: 4 MiB of RAM, with helpers to write the
 * guest's own page tables into it the way a guest kernel would, and to read back the
 * shadow tables the way the CPU would walk them (through the physical bus).
 *
 * No CPU is needed: the shadow tables are plain memory, so what the CPU would see is
 * exactly what these helpers read. A StateOnlyCpu can be plugged in when a test wants
 * to see the TLB flushes. Any ShadowPageTables implementation can be put under test.
 */
package dev.lguest.testing.mmu;

import dev.lguest.api.cpu.X86;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.mmu.ShadowPageTables;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

public final class MmuFixture implements AutoCloseable {
    private static final java.lang.foreign.ValueLayout.OfInt ENTRY =
            java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    public static final int RAM_BYTES = 4 << 20;
    public static final int RAM_PAGES = RAM_BYTES >>> 12;
    /** Frames from here to the end of RAM exist but are not the guest's (the Launcher's). */
    public static final int PFN_LIMIT = 1000;

    /** What Linux puts in a directory entry pointing at a page table (_PAGE_TABLE). */
    public static final int TABLE = X86.PTE_PRESENT | X86.PTE_RW | X86.PTE_USER | X86.PTE_ACCESSED | X86.PTE_DIRTY;
    public static final int KERNEL_ADDRESS = 0xC0000000;

    // Where the guest keeps its page directories and from where pte pages are taken.
    public static final int PGDIR_A = 0x1000, PGDIR_B = 0x2000, PGDIR_C = 0x3000, PGDIR_D = 0x4000, PGDIR_E = 0x5000;
    private int nextPtePage = 0x10000;

    private final Arena arena = Arena.ofConfined();
    public final Guest guest;
    public final ShadowPageTables tables;

    public MmuFixture(ShadowPageTables tables) {
        this(tables, PFN_LIMIT);
    }

    public MmuFixture(ShadowPageTables tables, int pfnLimit) {
        this.tables = tables;
        MemorySegment ram = arena.allocate(RAM_BYTES, 4096);
        guest = new Guest(new GuestMemory(ram), new PhysicalMemory(ram), pfnLimit, Thread.currentThread());
    }

    public GuestMemory memory() {
        return guest.memory;
    }

    // ---- the guest's own tables ----

    /** Maps vaddr to frame in a guest directory, making the pte page if needed. */
    public void map(int pgdir, int vaddr, int frame, int pteFlags) {
        int directoryEntry = memory().read32(pgdir + (long) (vaddr >>> 22) * 4);
        if ((directoryEntry & X86.PTE_PRESENT) == 0) {
            directoryEntry = nextPtePage | TABLE;
            nextPtePage += 4096;
            memory().write32(pgdir + (long) (vaddr >>> 22) * 4, directoryEntry);
        }
        memory().write32(pteAddress(pgdir, vaddr), frame << 12 | pteFlags);
    }

    /** Makes two guest directories share the page table for vaddr's 4 MiB (kernel half). */
    public void share(int fromPgdir, int toPgdir, int vaddr) {
        int slot = vaddr >>> 22;
        memory().write32(toPgdir + (long) slot * 4, memory().read32(fromPgdir + (long) slot * 4));
    }

    public void setDirectoryEntry(int pgdir, int slot, int entry) {
        memory().write32(pgdir + (long) slot * 4, entry);
    }

    public long pteAddress(int pgdir, int vaddr) {
        int directoryEntry = memory().read32(pgdir + (long) (vaddr >>> 22) * 4);
        return Integer.toUnsignedLong(directoryEntry & X86.PTE_FRAME) + (long) ((vaddr >>> 12) & 1023) * 4;
    }

    public int guestPte(int pgdir, int vaddr) {
        return memory().read32(pteAddress(pgdir, vaddr));
    }

    public void setGuestPte(int pgdir, int vaddr, int pte) {
        memory().write32(pteAddress(pgdir, vaddr), pte);
    }

    // ---- the shadow tables, as the CPU sees them ----

    public int shadowDirectoryEntry(int slot) {
        return shadowDirectoryEntry(tables.shadowRoot(guest), slot);
    }

    /** One little-endian 32-bit entry of a page-table page, as the CPU reads it. */
    private static int entry(MemorySegment page, int index) {
        return page.get(ENTRY, index * 4L);
    }

    public int shadowDirectoryEntry(int root, int slot) {
        MemorySegment directory = guest.bus.page(root >>> 12);
        return entry(directory, slot);
    }

    /** The shadow pte for vaddr in the current shadow directory, or 0 if none. */
    public int shadowPte(int vaddr) {
        return shadowPte(tables.shadowRoot(guest), vaddr);
    }

    public int shadowPte(int root, int vaddr) {
        int directoryEntry = shadowDirectoryEntry(root, vaddr >>> 22);
        if ((directoryEntry & X86.PTE_PRESENT) == 0) {
            return 0;
        }
        MemorySegment ptePage = guest.bus.page(directoryEntry >>> 12);
        return entry(ptePage, (vaddr >>> 12) & 1023);
    }

    public int hostPagesInUse() {
        return guest.bus.hostPagesInUse();
    }

    @Override
    public void close() {
        guest.bus.close();
        arena.close();
    }

}
