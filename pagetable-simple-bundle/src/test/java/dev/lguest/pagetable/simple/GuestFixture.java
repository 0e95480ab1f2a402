/*
 * A small guest for the page table tests: 4 MiB of RAM, with helpers to write the
 * guest's own page tables into it the way a guest kernel would, and to read back the
 * shadow tables the way the CPU would walk them (through the physical bus).
 *
 * No CPU is needed: the shadow tables are plain memory, so what the CPU would see is
 * exactly what these helpers read. A recording CPU can be plugged in when a test
 * wants to see the TLB flushes.
 *
 * The same file as in lguest-pagetable's tests, run against the simple implementation:
 * both must obey the same rules.
 */
package dev.lguest.pagetable.simple;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

final class GuestFixture implements AutoCloseable {
    static final int RAM_BYTES = 4 << 20;
    static final int RAM_PAGES = RAM_BYTES >>> 12;
    /** Frames from here to the end of RAM exist but are not the guest's (the Launcher's). */
    static final int PFN_LIMIT = 1000;

    /** What Linux puts in a directory entry pointing at a page table (_PAGE_TABLE). */
    static final int TABLE = X86.PTE_PRESENT | X86.PTE_RW | X86.PTE_USER | X86.PTE_ACCESSED | X86.PTE_DIRTY;
    static final int KERNEL_ADDRESS = 0xC0000000;

    // Where the guest keeps its page directories and from where pte pages are taken.
    static final int PGDIR_A = 0x1000, PGDIR_B = 0x2000, PGDIR_C = 0x3000, PGDIR_D = 0x4000, PGDIR_E = 0x5000;
    private int nextPtePage = 0x10000;

    private final Arena arena = Arena.ofConfined();
    final Guest guest;
    final SimpleShadowPageTables tables = new SimpleShadowPageTables();

    GuestFixture() {
        this(PFN_LIMIT);
    }

    GuestFixture(int pfnLimit) {
        MemorySegment ram = arena.allocate(RAM_BYTES, 4096);
        guest = new Guest(new GuestMemory(ram), new PhysicalMemory(ram), pfnLimit, Thread.currentThread());
    }

    GuestMemory memory() {
        return guest.memory;
    }

    // ---- the guest's own tables ----

    /** Maps vaddr to frame in a guest directory, making the pte page if needed. */
    void map(int pgdir, int vaddr, int frame, int pteFlags) {
        int directoryEntry = memory().read32(pgdir + (long) (vaddr >>> 22) * 4);
        if ((directoryEntry & X86.PTE_PRESENT) == 0) {
            directoryEntry = nextPtePage | TABLE;
            nextPtePage += 4096;
            memory().write32(pgdir + (long) (vaddr >>> 22) * 4, directoryEntry);
        }
        memory().write32(pteAddress(pgdir, vaddr), frame << 12 | pteFlags);
    }

    /** Makes two guest directories share the page table for vaddr's 4 MiB (kernel half). */
    void share(int fromPgdir, int toPgdir, int vaddr) {
        int slot = vaddr >>> 22;
        memory().write32(toPgdir + (long) slot * 4, memory().read32(fromPgdir + (long) slot * 4));
    }

    void setDirectoryEntry(int pgdir, int slot, int entry) {
        memory().write32(pgdir + (long) slot * 4, entry);
    }

    long pteAddress(int pgdir, int vaddr) {
        int directoryEntry = memory().read32(pgdir + (long) (vaddr >>> 22) * 4);
        return Integer.toUnsignedLong(directoryEntry & X86.PTE_FRAME) + (long) ((vaddr >>> 12) & 1023) * 4;
    }

    int guestPte(int pgdir, int vaddr) {
        return memory().read32(pteAddress(pgdir, vaddr));
    }

    void setGuestPte(int pgdir, int vaddr, int pte) {
        memory().write32(pteAddress(pgdir, vaddr), pte);
    }

    // ---- the shadow tables, as the CPU sees them ----

    int shadowDirectoryEntry(int slot) {
        return shadowDirectoryEntry(tables.shadowRoot(guest), slot);
    }

    int shadowDirectoryEntry(int root, int slot) {
        MemorySegment directory = guest.bus.page(root >>> 12);
        return PageEntries.read(directory, slot);
    }

    /** The shadow pte for vaddr in the current shadow directory, or 0 if none. */
    int shadowPte(int vaddr) {
        return shadowPte(tables.shadowRoot(guest), vaddr);
    }

    int shadowPte(int root, int vaddr) {
        int directoryEntry = shadowDirectoryEntry(root, vaddr >>> 22);
        if ((directoryEntry & X86.PTE_PRESENT) == 0) {
            return 0;
        }
        MemorySegment ptePage = guest.bus.page(directoryEntry >>> 12);
        return PageEntries.read(ptePage, (vaddr >>> 12) & 1023);
    }

    int hostPagesInUse() {
        return guest.bus.hostPagesInUse();
    }

    @Override
    public void close() {
        guest.bus.close();
        arena.close();
    }

    /** A CPU that only remembers the TLB maintenance it was asked for. */
    static final class RecordingCpu implements X86Cpu {
        final List<Integer> cr3Loads = new ArrayList<>();
        final List<Integer> invalidatedPages = new ArrayList<>();

        @Override
        public CpuState saveState() {
            return new CpuState();
        }

        @Override
        public void loadState(CpuState state) {
        }

        @Override
        public CpuExit run(long instructionBudget) {
            throw new UnsupportedOperationException("no guest code runs in these tests");
        }

        @Override
        public void interrupt() {
        }

        @Override
        public int gpr(int register) {
            return 0;
        }

        @Override
        public void setGpr(int register, int value) {
        }

        @Override
        public int eip() {
            return 0;
        }

        @Override
        public void setEip(int eip) {
        }

        @Override
        public void setCr3(int cr3) {
            cr3Loads.add(cr3);
        }

        @Override
        public void invalidatePage(int linearAddress) {
            invalidatedPages.add(linearAddress);
        }
    }
}
