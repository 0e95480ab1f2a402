/*
 * One shadow page directory: the top-level page the CPU's CR3 points at while the
 * guest runs on one of its own directories, plus the shadow pte pages hanging off it.
 *
 * The CPU only ever sees the host pages themselves. Alongside them we remember, in
 * plain Java, which host frame we put under each directory slot: that record, not the
 * entry in the page, is what we free from, so nothing the CPU or a bug writes into a
 * shadow page can make us free a page twice or free one that is not ours.
 */
package dev.lguest.pagetable;

import dev.lguest.api.cpu.X86;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.mmu.PageEntries;

import java.lang.foreign.MemorySegment;

final class ShadowDirectory {
    /** Host frame of the directory page itself. */
    final int frame;
    final MemorySegment page;
    /** The guest-physical address of the guest directory this one shadows. */
    int guestPgdir;

    private final int[] pteFrames = new int[PageEntries.PER_PAGE];
    private final MemorySegment[] ptePages = new MemorySegment[PageEntries.PER_PAGE];

    ShadowDirectory(int frame, MemorySegment page, int guestPgdir) {
        this.frame = frame;
        this.page = page;
        this.guestPgdir = guestPgdir;
    }

    /** What the CPU's CR3 must hold to walk this directory. */
    int root() {
        return frame << 12;
    }

    boolean hasPtePage(int index) {
        return ptePages[index] != null;
    }

    MemorySegment ptePage(int index) {
        return ptePages[index];
    }

    int directoryEntry(int index) {
        return PageEntries.read(page, index);
    }

    /** Hooks a freshly allocated (zeroed) shadow pte page under a directory slot. */
    void attachPtePage(int index, int pteFrame, MemorySegment ptePage, int directoryFlags) {
        pteFrames[index] = pteFrame;
        ptePages[index] = ptePage;
        PageEntries.write(page, index, pteFrame << 12 | directoryFlags);
    }

    /**
     * Unhooks the pte page under a slot and returns its host frame for freeing, or 0
     * if there was none. The directory entry is cleared first, so the CPU can never
     * walk into a page that has gone back to the pool.
     */
    int detachPtePage(int index) {
        int pteFrame = pteFrames[index];
        if (ptePages[index] == null) {
            return 0;
        }
        PageEntries.write(page, index, 0);
        pteFrames[index] = 0;
        ptePages[index] = null;
        return pteFrame;
    }

    /**
     * The top 4 MiB belong to the switcher: its GDT, IDT, TSS and the code that
     * changes worlds must be mapped at the same address in host and guest. Mapped
     * supervisor-only, so guest user code can never touch them.
     */
    void mapSwitcher(int switcherPageTable) {
        int entry = switcherPageTable == 0 ? 0
                : switcherPageTable << 12 | X86.PTE_PRESENT | X86.PTE_RW;
        if (PageEntries.read(page, Lguest.SWITCHER_PGD_INDEX) != entry) {
            PageEntries.write(page, Lguest.SWITCHER_PGD_INDEX, entry);
        }
    }
}
