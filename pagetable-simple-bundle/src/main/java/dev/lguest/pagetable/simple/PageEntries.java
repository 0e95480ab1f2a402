/*
 * Reading and writing the 32-bit entries of one page-sized table, and the few bit
 * games played on them.
 *
 * Both levels of an i386 page table (the directory and the pte pages) are simply 1024
 * little-endian words in a 4 KiB page, so one set of helpers does for both, whether
 * the page is a host page we own or a page of guest RAM.
 */
package dev.lguest.pagetable.simple;

import dev.lguest.api.cpu.X86;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

final class PageEntries {
    private PageEntries() {
    }

    /** 1024 entries per page at both levels: each directory entry covers 4 MiB. */
    static final int PER_PAGE = 1024;
    static final int DIRECTORY_SHIFT = 22;

    /**
     * The only flags a directory entry pointing at a normal page table may carry
     * (lguest's _PAGE_TABLE). Anything else (a 4 MiB PSE page, cache-control bits)
     * is something we would have to emulate, so a guest using it is refused.
     */
    static final int PAGE_TABLE_FLAGS =
            X86.PTE_PRESENT | X86.PTE_RW | X86.PTE_USER | X86.PTE_ACCESSED | X86.PTE_DIRTY;

    private static final ValueLayout.OfInt WORD =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static int read(MemorySegment page, int index) {
        return page.get(WORD, (long) index * 4);
    }

    static void write(MemorySegment page, int index, int entry) {
        page.set(WORD, (long) index * 4, entry);
    }

    static int directoryIndex(int virtualAddress) {
        return virtualAddress >>> DIRECTORY_SHIFT;
    }

    static int tableIndex(int virtualAddress) {
        return (virtualAddress >>> 12) & (PER_PAGE - 1);
    }

    static int frame(int entry) {
        return entry >>> 12;
    }

    static int flags(int entry) {
        return entry & ~X86.PTE_FRAME;
    }

    static boolean has(int entry, int flag) {
        return (entry & flag) == flag;
    }
}
