/*
 * The 32-bit entries of an i386 page table, and lguest's rules for the ones a guest
 * writes. Every shadow page table implementation reads guest entries and builds its
 * own from them, and each must refuse exactly what lguest refuses, in the same order,
 * with the same reason: so the rules live here once, beside the contract, and a new
 * MMU implementation calls them instead of copying them.
 *
 * Both levels of an i386 page table (the directory and the pte pages) are 1024
 * little-endian words in a 4 KiB page, so one set of helpers does for both, whether
 * the page is a host page an MMU owns or a page of guest RAM.
 */
package dev.lguest.api.mmu;

import dev.lguest.api.cpu.X86;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.memory.DirtyLog;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

public final class PageEntries {
    private PageEntries() {
    }

    /** 1024 entries per page at both levels: each directory entry covers 4 MiB. */
    public static final int PER_PAGE = 1024;
    public static final int DIRECTORY_SHIFT = 22;

    /**
     * The only flags a directory entry pointing at a normal page table may carry
     * (lguest's _PAGE_TABLE). Anything else (a 4 MiB PSE page, cache-control bits)
     * is something we would have to emulate, so a guest using it is refused.
     */
    public static final int PAGE_TABLE_FLAGS =
            X86.PTE_PRESENT | X86.PTE_RW | X86.PTE_USER | X86.PTE_ACCESSED | X86.PTE_DIRTY;

    private static final ValueLayout.OfInt WORD =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public static int read(MemorySegment page, int index) {
        return page.get(WORD, (long) index * 4);
    }

    public static void write(MemorySegment page, int index, int entry) {
        page.set(WORD, (long) index * 4, entry);
    }

    public static int directoryIndex(int virtualAddress) {
        return virtualAddress >>> DIRECTORY_SHIFT;
    }

    public static int tableIndex(int virtualAddress) {
        return (virtualAddress >>> 12) & (PER_PAGE - 1);
    }

    public static int frame(int entry) {
        return entry >>> 12;
    }

    public static int flags(int entry) {
        return entry & ~X86.PTE_FRAME;
    }

    public static boolean has(int entry, int flag) {
        return (entry & flag) == flag;
    }

    /**
     * lguest's check_gpgd: a guest directory entry must point at an ordinary page
     * table in the guest's own memory. A PSE bit would make it a 4 MiB page, cache bits
     * would be ours to honour: we support neither, so such a guest is broken or
     * hostile, and is killed. Returns whether the entry may be used.
     */
    public static boolean directoryEntryAcceptable(Guest guest, int guestDirectoryEntry) {
        if ((flags(guestDirectoryEntry) & ~PAGE_TABLE_FLAGS) != 0 || frame(guestDirectoryEntry) >= guest.pfnLimit) {
            guest.kill("bad page directory entry " + String.format("%#x", guestDirectoryEntry));
            return false;
        }
        return true;
    }

    /**
     * lguest's check_gpte: a guest pte may only name the guest's own frames (above
     * pfnLimit lies the Launcher itself), and PWT and PSE (PAT, at this level) would ask
     * for caching games we do not play. A bad entry kills the guest; returns whether
     * the entry may be used.
     */
    public static boolean pteAcceptable(Guest guest, int guestPte) {
        if ((guestPte & (X86.PTE_PWT | X86.PTE_PSE)) != 0 || frame(guestPte) >= guest.pfnLimit) {
            guest.kill("bad page table entry " + String.format("%#x", guestPte));
            return false;
        }
        return true;
    }

    // ---- live migration's dirty log (see ShadowPageTables.writeProtect) ----

    /**
     * A write fault the shadow tables are about to allow: while the guest's memory is
     * logged, the page the guest pte names is written from now on, so it is marked.
     */
    public static void logWrite(Guest guest, int guestPte) {
        DirtyLog log = guest.memory.dirtyLog();
        if (log != null) {
            log.mark(frame(guestPte));
        }
    }

    /**
     * A shadow pte as it may be installed while the guest's memory is logged: writable
     * only if its page is already marked, so the first store to any other page faults
     * to the host, which marks it ({@link #logWrite}). Without a log, unchanged.
     */
    public static int whileLogged(Guest guest, int shadowPte) {
        DirtyLog log = guest.memory.dirtyLog();
        if (log != null && has(shadowPte, X86.PTE_RW) && !log.isDirty(frame(shadowPte))) {
            return shadowPte & ~X86.PTE_RW;
        }
        return shadowPte;
    }

    /** Clears the writable bit of every entry of a shadow pte page (the CPU's TLB is the caller's to flush). */
    public static void writeProtect(MemorySegment ptePage) {
        for (int index = 0; index < PER_PAGE; index++) {
            int entry = read(ptePage, index);
            if (has(entry, X86.PTE_RW)) {
                write(ptePage, index, entry & ~X86.PTE_RW);
            }
        }
    }
}
