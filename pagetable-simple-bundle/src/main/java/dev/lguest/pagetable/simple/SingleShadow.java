/*
 * The whole shadow page table of one guest in the simple implementation: one shadow
 * directory page, and the shadow pte pages hanging off it.
 *
 * It lives in the guest (PagingState.cache), never in the component, so that whatever
 * component runs the guest next can find it. It is AutoCloseable so that a replacement
 * (even the other implementation, which cannot see this class) can hand its host pages
 * back to the pool. Which host frame sits under each slot is remembered here in plain
 * Java, and that record, never the page contents, is what we free from.
 */
package dev.lguest.pagetable.simple;

import dev.lguest.api.cpu.X86;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.mmu.PageEntries;

import java.lang.foreign.MemorySegment;
import java.util.function.IntPredicate;

final class SingleShadow implements AutoCloseable {
    private final PhysicalMemory bus;
    /** Host frame of the directory page; 0 once closed. */
    private int directoryFrame;
    private final MemorySegment directory;
    private final int[] pteFrames = new int[PageEntries.PER_PAGE];
    private final MemorySegment[] ptePages = new MemorySegment[PageEntries.PER_PAGE];

    /** Allocates the directory page. Throws IllegalStateException if the host has none left. */
    SingleShadow(PhysicalMemory bus) {
        this.bus = bus;
        this.directoryFrame = bus.allocateHostPage();
        this.directory = bus.page(directoryFrame);
    }

    /** What the CPU's CR3 must hold to walk this shadow. */
    int root() {
        return directoryFrame << 12;
    }

    boolean hasPtePage(int index) {
        return ptePages[index] != null;
    }

    MemorySegment ptePage(int index) {
        return ptePages[index];
    }

    int directoryEntry(int index) {
        return PageEntries.read(directory, index);
    }

    /** Allocates a zeroed pte page under a slot, keeping the guest's directory flags. */
    void attachPtePage(int index, int directoryFlags) {
        int frame = bus.allocateHostPage();
        pteFrames[index] = frame;
        ptePages[index] = bus.page(frame);
        PageEntries.write(directory, index, frame << 12 | directoryFlags);
    }

    /** Clears the slot first (so the CPU cannot walk a freed page), then frees its pte page. */
    void releasePtePage(int index) {
        if (ptePages[index] == null) {
            return;
        }
        PageEntries.write(directory, index, 0);
        int frame = pteFrames[index];
        pteFrames[index] = 0;
        ptePages[index] = null;
        bus.freeHostPage(frame);
    }

    /** Frees the pte pages of every slot the predicate picks. */
    void releasePtePages(IntPredicate which) {
        for (int index = 0; index < PageEntries.PER_PAGE; index++) {
            if (ptePages[index] != null && which.test(index)) {
                releasePtePage(index);
            }
        }
    }

    /**
     * Points the top slot at the switcher's page table (its GDT, IDT and TSS), which
     * must be mapped at the same address in host and guest; supervisor-only.
     */
    void mapSwitcher(int switcherPageTable) {
        int entry = switcherPageTable == 0 ? 0 : switcherPageTable << 12 | X86.PTE_PRESENT | X86.PTE_RW;
        PageEntries.write(directory, Lguest.SWITCHER_PGD_INDEX, entry);
    }

    /** Gives every host page back. Safe to call twice. */
    @Override
    public void close() {
        if (directoryFrame == 0) {
            return;
        }
        releasePtePages(index -> true);
        bus.freeHostPage(directoryFrame);
        directoryFrame = 0;
    }
}
