/*
 * Shadow page tables, the simple way: one shadow directory per guest and no cache.
 *
 * The CPU never walks the guest's own page tables (they name frames the guest may not
 * own, and must never map the switcher's top 4 MiB); it walks a shadow built in host
 * pages. This implementation keeps exactly one shadow directory per guest. It starts
 * empty, every page fault the guest's tables allow copies one checked entry across
 * (demand paging), and every NEW_PGTABLE empties it again: the guest then faults its
 * pages back in. lguest-pagetable keeps four directories to spare those faults; this
 * one trades that speed for being short. The checks are the same: frames beyond
 * pfnLimit, large pages, cache bits and anything in the switcher's slot kill the guest.
 *
 * As in every host component, nothing about a guest is held here: the shadow lives in
 * guest.paging, tagged with this component, so either implementation can take a
 * running guest over from the other (and starts from empty when it does).
 */
package dev.lguest.pagetable.simple;

import dev.lguest.api.cpu.X86;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.memory.GuestMemoryFault;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.mmu.PageEntries;
import dev.lguest.api.mmu.PagingState;
import dev.lguest.api.mmu.ShadowPageTables;
import org.osgi.service.component.annotations.Component;

@Component(service = ShadowPageTables.class)
public final class SimpleShadowPageTables implements ShadowPageTables {
    private static final int SWITCHER_SLOT = Lguest.SWITCHER_PGD_INDEX;

    // ---- setting up and tearing down ----

    @Override
    public void init(Guest guest, int pgdir) {
        discardShadow(guest.paging);
        guest.paging.guestPgdir = pgdir;
        SingleShadow shadow = shadowOf(guest);
        if (shadow == null) {
            return;
        }
        try {
            // The Launcher built this directory, but in guest memory: a mapping over
            // the switcher here would be walked on the very first run.
            if (guestMapsSwitcher(guest, pgdir)) {
                guest.kill("attempt to access switcher pages");
            }
        } catch (GuestMemoryFault fault) {
            guest.kill(badRead(fault) + " (initial page directory " + hex(pgdir) + ")");
        }
    }

    @Override
    public void release(Guest guest) {
        discardShadow(guest.paging);
    }

    // ---- demand paging ----

    @Override
    public boolean demandPage(Guest guest, int virtualAddress, int errorCode) {
        if (guest.isDead()) {
            return false;
        }
        SingleShadow shadow = shadowOf(guest);
        if (shadow == null) {
            return false;
        }
        try {
            return copyFromGuest(guest, shadow, virtualAddress, errorCode);
        } catch (GuestMemoryFault fault) {
            guest.kill(badRead(fault) + " (guest page tables for " + hex(virtualAddress) + ")");
            return false;
        }
    }

    /** Copies the one guest entry that covers the fault, if the guest's tables allow the access. */
    private static boolean copyFromGuest(Guest guest, SingleShadow shadow, int virtualAddress, int errorCode) {
        int directoryIndex = PageEntries.directoryIndex(virtualAddress);
        int guestDirectoryEntry = readGuestDirectoryEntry(guest, guest.paging.guestPgdir, directoryIndex);
        if (!PageEntries.has(guestDirectoryEntry, X86.PTE_PRESENT)) {
            return false;
        }
        if (directoryIndex >= SWITCHER_SLOT) {
            guest.kill("attempt to access switcher pages");
            return false;
        }
        if (!PageEntries.directoryEntryAcceptable(guest, guestDirectoryEntry)) {
            return false;
        }
        if (!shadow.hasPtePage(directoryIndex)) {
            try {
                shadow.attachPtePage(directoryIndex, PageEntries.flags(guestDirectoryEntry));
            } catch (IllegalStateException outOfPages) {
                guest.kill("out of memory allocating pte page");
                return false;
            }
        }
        long guestPteAddress = guestPteAddress(guestDirectoryEntry, virtualAddress);
        int guestPte = guest.memory.read32(guestPteAddress);
        if (!PageEntries.has(guestPte, X86.PTE_PRESENT)) {
            return false;
        }
        // x86 grants the AND of both levels; judging only the pte could install an
        // entry the directory forbids, which would fault again forever.
        int effective = guestPte & (guestDirectoryEntry | ~(X86.PTE_RW | X86.PTE_USER));
        boolean write = (errorCode & X86.PF_WRITE) != 0;
        if (write && !PageEntries.has(effective, X86.PTE_RW)) {
            return false;
        }
        if ((errorCode & X86.PF_USER) != 0 && !PageEntries.has(effective, X86.PTE_USER)) {
            return false;
        }
        if (!PageEntries.pteAcceptable(guest, guestPte)) {
            return false;
        }
        // We are the page walker, so we set the bits hardware would set.
        guestPte |= X86.PTE_ACCESSED;
        if (write) {
            guestPte |= X86.PTE_DIRTY;
            PageEntries.logWrite(guest, guestPte);
        }
        setShadowPte(guest, shadow, virtualAddress,
                PageEntries.whileLogged(guest, shadowPteFor(guestPte)));
        guest.memory.write32(guestPteAddress, guestPte);
        return true;
    }

    /**
     * The shadow of an accessed guest pte: the same frame (guest RAM is 1:1 at physical
     * 0), read-only until the guest's dirty bit is set so the first write comes back
     * to us to set it, and without the global bit (we flush by slot, not by PGE).
     */
    private static int shadowPteFor(int guestPte) {
        int shadow = guestPte & ~X86.PTE_GLOBAL;
        if (!PageEntries.has(guestPte, X86.PTE_DIRTY)) {
            shadow &= ~X86.PTE_RW;
        }
        return shadow;
    }

    /** Writes one shadow pte and drops a stale translation the CPU may hold for it. */
    private static void setShadowPte(Guest guest, SingleShadow shadow, int virtualAddress, int shadowPte) {
        var ptePage = shadow.ptePage(PageEntries.directoryIndex(virtualAddress));
        int index = PageEntries.tableIndex(virtualAddress);
        int old = PageEntries.read(ptePage, index);
        PageEntries.write(ptePage, index, shadowPte);
        X86Cpu cpu = guest.cpu();
        if (cpu != null && old != shadowPte && PageEntries.has(old, X86.PTE_PRESENT)) {
            cpu.invalidatePage(virtualAddress);
        }
    }

    // ---- keeping the kernel stack mapped ----

    @Override
    public boolean pinStackPages(Guest guest, int top, int pages) {
        if (guest.isDead()) {
            return false;
        }
        SingleShadow shadow = shadowOf(guest);
        if (shadow == null) {
            return false;
        }
        for (int page = 0; page < pages; page++) {
            int virtualAddress = top - 1 - page * PhysicalMemory.PAGE_SIZE;
            // As lguest: a stack in the host's own top slot is not merely unmapped.
            if (PageEntries.directoryIndex(virtualAddress) >= SWITCHER_SLOT) {
                guest.kill("attempt to access switcher pages");
                return false;
            }
            if (shadowWritable(shadow, virtualAddress)) {
                continue;
            }
            if (!demandPage(guest, virtualAddress, X86.PF_WRITE)) {
                guest.kill(String.format("bad stack page %#x", virtualAddress));
                return false;
            }
        }
        return true;
    }

    private static boolean shadowWritable(SingleShadow shadow, int virtualAddress) {
        int directoryIndex = PageEntries.directoryIndex(virtualAddress);
        if (directoryIndex >= SWITCHER_SLOT || !shadow.hasPtePage(directoryIndex)) {
            return false;
        }
        int writable = X86.PTE_PRESENT | X86.PTE_RW;
        int pte = PageEntries.read(shadow.ptePage(directoryIndex), PageEntries.tableIndex(virtualAddress));
        return PageEntries.has(shadow.directoryEntry(directoryIndex), writable) && PageEntries.has(pte, writable);
    }

    /** Every emptied shadow has lost the kernel stack; a trap onto it must never fault. */
    private void repinStack(Guest guest) {
        if (guest.traps.stackPages > 0) {
            pinStackPages(guest, guest.traps.esp1, guest.traps.stackPages);
        }
    }

    // ---- live migration: every page read-only until written ----

    @Override
    public boolean writeProtect(Guest guest) {
        SingleShadow shadow = shadowOf(guest);
        if (shadow == null) {
            return true; // the guest is dead: it writes nothing more
        }
        for (int index = 0; index < SWITCHER_SLOT; index++) {
            if (shadow.hasPtePage(index)) {
                PageEntries.writeProtect(shadow.ptePage(index));
            }
        }
        reloadCr3(guest, shadow);
        repinStack(guest);
        return true;
    }

    // ---- the guest changed an entry ----

    @Override
    public void setPte(Guest guest, int pgdir, int virtualAddress, int pte) {
        SingleShadow shadow = shadowOf(guest);
        if (shadow == null) {
            return;
        }
        if (PageEntries.directoryIndex(virtualAddress) >= SWITCHER_SLOT) {
            guest.kill("attempt to access switcher pages");
            return;
        }
        // Only the directory in use is shadowed; kernel mappings are shared by every
        // directory of a Linux guest, so a kernel change elsewhere is a change here too.
        if (pgdir != guest.paging.guestPgdir && !isKernelAddress(guest, virtualAddress)) {
            return;
        }
        int directoryIndex = PageEntries.directoryIndex(virtualAddress);
        if (!shadow.hasPtePage(directoryIndex)) {
            return;
        }
        // Zero is always right (demand paging refills it); an entry Linux already
        // marked accessed can be installed now, checked, to save the guest a fault.
        int shadowPte = 0;
        if (PageEntries.has(pte, X86.PTE_PRESENT) && (pte & (X86.PTE_ACCESSED | X86.PTE_DIRTY)) != 0
                && PageEntries.pteAcceptable(guest, pte)) {
            shadowPte = PageEntries.whileLogged(guest, shadowPteFor(pte));
        }
        setShadowPte(guest, shadow, virtualAddress, shadowPte);
    }

    @Override
    public void setPmd(Guest guest, int pgdir, int index) {
        SingleShadow shadow = shadowOf(guest);
        if (shadow == null) {
            return;
        }
        if (index < 0 || index > SWITCHER_SLOT) {
            guest.kill("bad page directory index " + index);
            return;
        }
        if (index == SWITCHER_SLOT) {
            // Clearing the slot is harmless (we never copy it); filling it is not.
            try {
                if (guestMapsSwitcher(guest, pgdir)) {
                    guest.kill("attempt to access switcher pages");
                }
            } catch (GuestMemoryFault fault) {
                guest.kill(badRead(fault) + " (page directory " + hex(pgdir) + ")");
            }
            return;
        }
        if (pgdir == guest.paging.guestPgdir && shadow.hasPtePage(index)) {
            shadow.releasePtePage(index);
            reloadCr3(guest, shadow);
        }
    }

    // ---- switching directories: start again from empty ----

    @Override
    public void newPageTable(Guest guest, int pgdir) {
        SingleShadow shadow = shadowOf(guest);
        if (shadow == null) {
            return;
        }
        guest.paging.guestPgdir = pgdir;
        shadow.releasePtePages(index -> true);
        shadow.mapSwitcher(guest.paging.switcherPageTable);
        reloadCr3(guest, shadow);
        repinStack(guest);
    }

    // ---- flushing ----

    @Override
    public void flush(Guest guest, boolean kernelToo) {
        SingleShadow shadow = shadowOf(guest);
        if (shadow == null) {
            return;
        }
        if (kernelToo) {
            shadow.releasePtePages(index -> true);
        } else {
            // Before the guest told us where its kernel starts, everything is user.
            int kernelIndex = guest.kernelAddress == 0 ? SWITCHER_SLOT
                    : Math.min(PageEntries.directoryIndex(guest.kernelAddress), SWITCHER_SLOT);
            shadow.releasePtePages(index -> index < kernelIndex);
        }
        reloadCr3(guest, shadow);
        if (kernelToo || guest.kernelAddress == 0) {
            repinStack(guest);
        }
    }

    private static boolean isKernelAddress(Guest guest, int virtualAddress) {
        return guest.kernelAddress != 0 && Integer.compareUnsigned(virtualAddress, guest.kernelAddress) >= 0;
    }

    // ---- what the switcher asks ----

    @Override
    public int shadowRoot(Guest guest) {
        SingleShadow shadow = shadowOf(guest);
        if (shadow == null) {
            return 0;
        }
        // The switcher may have (re)built its page table since we last looked.
        shadow.mapSwitcher(guest.paging.switcherPageTable);
        return shadow.root();
    }

    @Override
    public long guestPhysical(Guest guest, int virtualAddress) {
        try {
            int guestDirectoryEntry = readGuestDirectoryEntry(guest, guest.paging.guestPgdir,
                    PageEntries.directoryIndex(virtualAddress));
            if (!PageEntries.has(guestDirectoryEntry, X86.PTE_PRESENT)
                    || PageEntries.has(guestDirectoryEntry, X86.PTE_PSE)) {
                return -1;
            }
            // The same checks as a fault's: a page table or a frame past the pfn limit is
            // the Launcher's memory, never read for the guest nor handed to a caller.
            if (!PageEntries.directoryEntryAcceptable(guest, guestDirectoryEntry)) {
                return -1;
            }
            int guestPte = guest.memory.read32(guestPteAddress(guestDirectoryEntry, virtualAddress));
            if (!PageEntries.has(guestPte, X86.PTE_PRESENT) || !PageEntries.pteAcceptable(guest, guestPte)) {
                return -1;
            }
            return Integer.toUnsignedLong(guestPte & X86.PTE_FRAME) | (virtualAddress & 0xFFF);
        } catch (GuestMemoryFault fault) {
            guest.kill(badRead(fault) + " (guest page tables for " + hex(virtualAddress) + ")");
            return -1;
        }
    }

    // ---- the shadow in guest.paging ----

    /**
     * The guest's shadow as this component built it. Anything else found there (none
     * yet, or one left by a component we replaced) is closed and we start empty.
     * Returns null only when the host has no page for the directory (the guest is dead).
     */
    private SingleShadow shadowOf(Guest guest) {
        PagingState paging = guest.paging;
        if (paging.cacheOwner == this && paging.cache instanceof SingleShadow ours) {
            return ours;
        }
        discardShadow(paging);
        SingleShadow shadow;
        try {
            shadow = new SingleShadow(guest.bus);
        } catch (IllegalStateException outOfPages) {
            guest.kill("out of memory allocating page directory");
            return null;
        }
        shadow.mapSwitcher(paging.switcherPageTable);
        paging.cache = shadow;
        paging.cacheOwner = this;
        // The CPU may hold translations from the tables just thrown away.
        reloadCr3(guest, shadow);
        repinStack(guest);
        return shadow;
    }

    /** Closes whatever shadow the guest holds, ours or a foreign one; a foreign failure is its own leak. */
    private static void discardShadow(PagingState paging) {
        Object old = paging.cache;
        paging.cache = null;
        paging.cacheOwner = null;
        if (old instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception ignoredFailure) {
                // Nothing the guest did; keep it running.
            }
        }
    }

    // ---- reading the guest's own tables ----

    private static int readGuestDirectoryEntry(Guest guest, int pgdir, int index) {
        return guest.memory.read32(Integer.toUnsignedLong(pgdir) + (long) index * 4);
    }

    private static long guestPteAddress(int guestDirectoryEntry, int virtualAddress) {
        return Integer.toUnsignedLong(guestDirectoryEntry & X86.PTE_FRAME)
                + (long) PageEntries.tableIndex(virtualAddress) * 4;
    }

    private static boolean guestMapsSwitcher(Guest guest, int pgdir) {
        return PageEntries.has(readGuestDirectoryEntry(guest, pgdir, SWITCHER_SLOT), X86.PTE_PRESENT);
    }

    /** Loading CR3 makes the CPU forget every cached translation. */
    private static void reloadCr3(Guest guest, SingleShadow shadow) {
        X86Cpu cpu = guest.cpu();
        if (cpu != null) {
            cpu.setCr3(shadow.root());
        }
    }

    /**
     * lguest's words for a read of the guest's tables outside its memory (__lgread),
     * from the fault's numbers, so no Java text reaches the reason the Launcher prints.
     */
    private static String badRead(GuestMemoryFault fault) {
        return String.format("bad read address %#x len %d", fault.address(), fault.length());
    }

    private static String hex(int value) {
        return String.format("%#x", value);
    }
}
