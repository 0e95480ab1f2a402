/*
 * The shadow page tables: the page tables the CPU really walks while a guest runs.
 *
 * The guest keeps its own page tables in its memory, but we can neither trust them
 * nor let the CPU use them: they name guest frames the guest may not own, and the
 * guest must never map the switcher's top 4 MiB. So the CPU runs on shadow tables in
 * host pages, which start empty. Each page fault the guest takes comes here first
 * (demandPage): if the guest's tables say the access is fine we copy that one entry
 * across, checked, and let the instruction run again; the guest never knows. If they
 * say it is not, the guest sees the fault just as hardware would have shown it.
 *
 * The guest tells us with hypercalls when it changes an entry (SET_PTE, SET_PMD),
 * switches directory (NEW_PGTABLE) or wants mappings forgotten (FLUSH_TLB): the same
 * moments at which real hardware would need a TLB flush.
 *
 * The component holds nothing about any guest. Everything lives in guest.paging: the
 * guest directory in use, and the shadow tables themselves as a cache (ShadowCache)
 * tagged with the component that built it, so a replacement starts from empty.
 */
package dev.lguest.pagetable;

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

import java.lang.foreign.MemorySegment;

@Component(service = ShadowPageTables.class)
public final class LguestShadowPageTables implements ShadowPageTables {

    private static final int SWITCHER_SLOT = Lguest.SWITCHER_PGD_INDEX;

    // ---- (vii) setting up ----

    @Override
    public void init(Guest guest, int pgdir) {
        discardCache(guest.paging);
        guest.paging.guestPgdir = pgdir;
        ShadowCache cache = new ShadowCache(guest.bus);
        guest.paging.cache = cache;
        guest.paging.cacheOwner = this;
        ShadowDirectory first = allocateDirectory(guest, cache, pgdir);
        if (first == null) {
            return;
        }
        cache.makeCurrent(first);
        flushCpu(guest, first);
        try {
            // The Launcher built this directory, but it lies in the guest's memory:
            // a mapping over the switcher here would be walked on the very first run.
            if (guestMapsSwitcher(guest, pgdir)) {
                guest.kill("attempt to access switcher pages");
            }
        } catch (GuestMemoryFault fault) {
            guest.kill(badRead(fault) + " (initial page directory " + hex(pgdir) + ")");
        }
    }

    @Override
    public void release(Guest guest) {
        discardCache(guest.paging);
    }

    // ---- (i) demand paging ----

    @Override
    public boolean demandPage(Guest guest, int virtualAddress, int errorCode) {
        if (guest.isDead()) {
            return false;
        }
        ShadowCache cache = cacheOf(guest);
        if (cache == null) {
            return false;
        }
        try {
            return fillFromGuest(guest, cache, virtualAddress, errorCode);
        } catch (GuestMemoryFault fault) {
            guest.kill(badRead(fault) + " (guest page tables for " + hex(virtualAddress) + ")");
            return false;
        }
    }

    private boolean fillFromGuest(Guest guest, ShadowCache cache, int virtualAddress, int errorCode) {
        int directoryIndex = PageEntries.directoryIndex(virtualAddress);
        int guestDirectoryEntry = readGuestDirectoryEntry(guest, guest.paging.guestPgdir, directoryIndex);
        if (!PageEntries.has(guestDirectoryEntry, X86.PTE_PRESENT)) {
            return false;
        }
        // The guest mapped something where the switcher must be: it would be asking
        // us to hand it the pages that hold the host's GDT, IDT and TSS.
        if (directoryIndex >= SWITCHER_SLOT) {
            guest.kill("attempt to access switcher pages");
            return false;
        }
        if (!PageEntries.directoryEntryAcceptable(guest, guestDirectoryEntry)) {
            return false;
        }

        ShadowDirectory directory = cache.current();
        if (!directory.hasPtePage(directoryIndex)) {
            if (!allocatePtePage(guest, cache, directory, directoryIndex, guestDirectoryEntry)) {
                return false;
            }
        }

        long guestPteAddress = guestPteAddress(guestDirectoryEntry, virtualAddress);
        int guestPte = guest.memory.read32(guestPteAddress);
        if (!PageEntries.has(guestPte, X86.PTE_PRESENT)) {
            return false;
        }
        // Permissions are the AND of both levels on x86. lguest looks only at the pte,
        // but then a pte allowing what its directory entry forbids would be installed,
        // fault again, and loop forever; so we judge the pair, as the CPU will.
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

        // Hardware sets these bits in the guest's pte as it walks; we are the walker.
        guestPte |= X86.PTE_ACCESSED;
        if (write) {
            guestPte |= X86.PTE_DIRTY;
            PageEntries.logWrite(guest, guestPte);
        }
        setShadowPte(guest, cache, directory, virtualAddress,
                PageEntries.whileLogged(guest, shadowPteFor(guestPte)));
        guest.memory.write32(guestPteAddress, guestPte);
        return true;
    }

    /**
     * The shadow of a guest pte the guest has accessed. The frame is the same number
     * (guest RAM sits 1:1 at physical 0). A page not yet dirty is mapped read-only even
     * if the guest allows writes: the first write then faults back to us, and that is
     * our only chance to set the guest's dirty bit, which Linux relies on to know
     * which pages to write back. The global bit is dropped: the guest only sets it
     * because we told it PGE exists, and we flush by directory slot instead.
     */
    private static int shadowPteFor(int guestPte) {
        int shadow = guestPte & ~X86.PTE_GLOBAL;
        if (!PageEntries.has(guestPte, X86.PTE_DIRTY)) {
            shadow &= ~X86.PTE_RW;
        }
        return shadow;
    }

    private static boolean allocatePtePage(Guest guest, ShadowCache cache, ShadowDirectory directory,
                                           int directoryIndex, int guestDirectoryEntry) {
        try {
            // The shadow directory entry keeps the guest's flags: the CPU then applies
            // the guest's user/supervisor and read-only choices at this level itself.
            cache.attachPtePage(directory, directoryIndex, PageEntries.flags(guestDirectoryEntry));
            return true;
        } catch (IllegalStateException outOfPages) {
            // Not the guest's fault, but killing it is the simple way out (as lguest).
            guest.kill("out of memory allocating pte page");
            return false;
        }
    }

    /** Writes one shadow pte, and drops any stale copy of it the CPU's TLB may hold. */
    private static void setShadowPte(Guest guest, ShadowCache cache, ShadowDirectory directory,
                                     int virtualAddress, int shadowPte) {
        MemorySegment ptePage = directory.ptePage(PageEntries.directoryIndex(virtualAddress));
        int index = PageEntries.tableIndex(virtualAddress);
        int old = PageEntries.read(ptePage, index);
        PageEntries.write(ptePage, index, shadowPte);
        X86Cpu cpu = guest.cpu();
        if (cpu != null && directory == cache.current() && old != shadowPte
                && PageEntries.has(old, X86.PTE_PRESENT)) {
            cpu.invalidatePage(virtualAddress);
        }
    }

    // ---- (ii) keeping the kernel stack mapped ----

    @Override
    public boolean pinStackPages(Guest guest, int top, int pages) {
        if (guest.isDead()) {
            return false;
        }
        ShadowCache cache = cacheOf(guest);
        if (cache == null) {
            return false;
        }
        // The stack grows down from top: its first page is the one holding top - 1.
        for (int page = 0; page < pages; page++) {
            int virtualAddress = top - 1 - page * PhysicalMemory.PAGE_SIZE;
            // lguest finds this first (spgd_addr, on the way to the shadow entry): a
            // stack up there is not merely unmapped, it is in the host's own slot.
            if (PageEntries.directoryIndex(virtualAddress) >= SWITCHER_SLOT) {
                guest.kill("attempt to access switcher pages");
                return false;
            }
            if (shadowWritable(cache.current(), virtualAddress)) {
                continue;
            }
            if (!demandPage(guest, virtualAddress, X86.PF_WRITE)) {
                guest.kill(String.format("bad stack page %#x", virtualAddress));
                return false;
            }
        }
        return true;
    }

    /** Is this address already mapped writable by the shadow tables (both levels)? */
    private static boolean shadowWritable(ShadowDirectory directory, int virtualAddress) {
        int directoryIndex = PageEntries.directoryIndex(virtualAddress);
        // The switcher's slot is writable, but it is the host's: never the guest's stack.
        if (directoryIndex >= SWITCHER_SLOT || !directory.hasPtePage(directoryIndex)) {
            return false;
        }
        int writable = X86.PTE_PRESENT | X86.PTE_RW;
        int pte = PageEntries.read(directory.ptePage(directoryIndex), PageEntries.tableIndex(virtualAddress));
        return PageEntries.has(directory.directoryEntry(directoryIndex), writable) && PageEntries.has(pte, writable);
    }

    /**
     * lguest re-pins the kernel stack whenever a directory may have lost it: a trap
     * delivered straight into the guest pushes onto that stack, and a fault there is a
     * double fault we could only answer by killing the guest.
     */
    private void repinStack(Guest guest) {
        if (guest.traps.stackPages > 0) {
            pinStackPages(guest, guest.traps.esp1, guest.traps.stackPages);
        }
    }

    // ---- (iii) the guest changed an entry ----

    @Override
    public void setPte(Guest guest, int pgdir, int virtualAddress, int pte) {
        ShadowCache cache = cacheOf(guest);
        if (cache == null) {
            return;
        }
        if (PageEntries.directoryIndex(virtualAddress) >= SWITCHER_SLOT) {
            guest.kill("attempt to access switcher pages");
            return;
        }
        // Kernel mappings are the same in every directory of a Linux guest, which is
        // what lets a new shadow directory keep them; so a change to one is a change
        // to all of them.
        if (isKernelAddress(guest, virtualAddress)) {
            for (ShadowDirectory directory : cache.all()) {
                updateShadowPte(guest, cache, directory, virtualAddress, pte);
            }
        } else {
            ShadowDirectory directory = cache.find(pgdir);
            if (directory != null) {
                updateShadowPte(guest, cache, directory, virtualAddress, pte);
            }
        }
    }

    /**
     * Setting a shadow entry to zero is always correct: demandPage fills it again on
     * the next touch. But Linux sets the accessed (and for a write, dirty) bits itself
     * when it creates a pte, so for those we can install the mapping right now and save
     * the guest a fault, keeping the "writable only once dirty" rule.
     */
    private static void updateShadowPte(Guest guest, ShadowCache cache, ShadowDirectory directory,
                                        int virtualAddress, int guestPte) {
        int directoryIndex = PageEntries.directoryIndex(virtualAddress);
        if (!directory.hasPtePage(directoryIndex)) {
            return;
        }
        int shadowPte = 0;
        if (PageEntries.has(guestPte, X86.PTE_PRESENT)
                && (guestPte & (X86.PTE_ACCESSED | X86.PTE_DIRTY)) != 0) {
            if (!PageEntries.pteAcceptable(guest, guestPte)) {
                shadowPte = 0;
            } else {
                shadowPte = PageEntries.whileLogged(guest, shadowPteFor(guestPte));
            }
        }
        setShadowPte(guest, cache, directory, virtualAddress, shadowPte);
    }

    @Override
    public void setPmd(Guest guest, int pgdir, int index) {
        ShadowCache cache = cacheOf(guest);
        if (cache == null) {
            return;
        }
        if (index < 0 || index > SWITCHER_SLOT) {
            guest.kill("bad page directory index " + index);
            return;
        }
        if (index == SWITCHER_SLOT) {
            // We never copy this slot, so clearing it is harmless (Linux may do so
            // early in boot); a guest putting a page table there is not.
            try {
                if (guestMapsSwitcher(guest, pgdir)) {
                    guest.kill("attempt to access switcher pages");
                }
            } catch (GuestMemoryFault fault) {
                guest.kill(badRead(fault) + " (page directory " + hex(pgdir) + ")");
            }
            return;
        }
        ShadowDirectory directory = cache.find(pgdir);
        if (directory != null && directory.hasPtePage(index)) {
            cache.releasePtePage(directory, index);
            if (directory == cache.current()) {
                forgetSlot(guest, index);
            }
        }
    }

    /**
     * Drops what the CPU's TLB may hold from one directory slot's 4 MiB, as an INVLPG
     * of each of its pages would, and nothing else. lguest's guest_set_pmd leaves the
     * TLB alone (Linux flushes after changing a pmd); we go as far as forgetting the
     * slot, so no translation from the pte page just released outlives it, but not to
     * a CR3 reload: Linux clears the pmds of an exiting process one by one on its own
     * directory, and each reload threw away the translations of every other slot too.
     */
    private static void forgetSlot(Guest guest, int index) {
        X86Cpu cpu = guest.cpu();
        if (cpu == null) {
            return;
        }
        int base = index << 22;
        for (int page = 0; page < PageEntries.PER_PAGE; page++) {
            cpu.invalidatePage(base + (page << 12));
        }
    }

    // ---- (iv) switching directories ----

    @Override
    public void newPageTable(Guest guest, int pgdir) {
        ShadowCache cache = cacheOf(guest);
        if (cache == null) {
            return;
        }
        guest.paging.guestPgdir = pgdir;
        ShadowDirectory directory = cache.find(pgdir);
        boolean blank = false;
        if (directory == null) {
            if (cache.hasFreeSlot()) {
                directory = allocateDirectory(guest, cache, pgdir);
                if (directory == null) {
                    return;
                }
                blank = true;
            } else {
                // Take over another guest directory's shadow. Its user half belonged
                // to that address space and goes; its kernel half is the same in every
                // directory, so it stays and spares us faulting the kernel back in.
                directory = cache.victim();
                directory.guestPgdir = pgdir;
                releaseUserMappings(guest, cache, directory);
                blank = guest.kernelAddress == 0;
            }
        }
        cache.makeCurrent(directory);
        directory.mapSwitcher(guest.paging.switcherPageTable);
        flushCpu(guest, directory);
        if (blank) {
            repinStack(guest);
        }
    }

    private static ShadowDirectory allocateDirectory(Guest guest, ShadowCache cache, int pgdir) {
        try {
            ShadowDirectory directory = cache.allocate(pgdir);
            directory.mapSwitcher(guest.paging.switcherPageTable);
            return directory;
        } catch (IllegalStateException outOfPages) {
            guest.kill("out of memory allocating page directory");
            return null;
        }
    }

    // ---- (v) flushing ----

    @Override
    public void flush(Guest guest, boolean kernelToo) {
        ShadowCache cache = cacheOf(guest);
        if (cache == null) {
            return;
        }
        ShadowDirectory current = cache.current();
        if (kernelToo) {
            // A kernel mapping changed, and kernel mappings are in every directory:
            // the simple, rare, slow answer is to forget them all.
            for (ShadowDirectory directory : cache.all()) {
                cache.releasePtePages(directory, index -> true);
            }
        } else {
            releaseUserMappings(guest, cache, current);
        }
        flushCpu(guest, current);
        if (kernelToo || guest.kernelAddress == 0) {
            repinStack(guest);
        }
    }

    /**
     * Drops the directory slots below the guest's kernel address. Before the guest
     * told us where its kernel starts (kernelAddress 0), everything counts as user.
     * The switcher slot is never in range: releasePtePages only sees our pte pages.
     */
    private static void releaseUserMappings(Guest guest, ShadowCache cache, ShadowDirectory directory) {
        int kernelIndex = guest.kernelAddress == 0 ? SWITCHER_SLOT
                : Math.min(PageEntries.directoryIndex(guest.kernelAddress), SWITCHER_SLOT);
        cache.releasePtePages(directory, index -> index < kernelIndex);
    }

    private static boolean isKernelAddress(Guest guest, int virtualAddress) {
        return guest.kernelAddress != 0 && Integer.compareUnsigned(virtualAddress, guest.kernelAddress) >= 0;
    }

    // ---- (vi) live migration: every page read-only until written ----

    @Override
    public boolean writeProtect(Guest guest) {
        ShadowCache cache = cacheOf(guest);
        if (cache == null) {
            return true; // the guest is dead: it writes nothing more
        }
        // Every directory, not only the current one: a switch back to another address
        // space must not find writable entries the log never saw.
        for (ShadowDirectory directory : cache.all()) {
            for (int index = 0; index < SWITCHER_SLOT; index++) {
                if (directory.hasPtePage(index)) {
                    PageEntries.writeProtect(directory.ptePage(index));
                }
            }
        }
        flushCpu(guest, cache.current());
        repinStack(guest);
        return true;
    }

    // ---- what the switcher asks ----

    @Override
    public int shadowRoot(Guest guest) {
        ShadowCache cache = cacheOf(guest);
        if (cache == null) {
            return 0;
        }
        ShadowDirectory current = cache.current();
        // The switcher may have (re)built its page table since we last looked.
        current.mapSwitcher(guest.paging.switcherPageTable);
        return current.root();
    }

    @Override
    public long guestPhysical(Guest guest, int virtualAddress) {
        try {
            int guestDirectoryEntry = readGuestDirectoryEntry(guest, guest.paging.guestPgdir,
                    PageEntries.directoryIndex(virtualAddress));
            // A large page is something no guest of ours may run with; treat as unmapped.
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

    // ---- the cache in guest.paging ----

    /**
     * The guest's shadow tables, as built by this component. Anything else found there
     * (nothing yet, or a cache left by the component we replaced) is discarded and we
     * start empty, with a blank directory for the guest directory in use. Returns null
     * only if the host has no page left for that directory (the guest is then dead).
     */
    private ShadowCache cacheOf(Guest guest) {
        PagingState paging = guest.paging;
        ShadowCache cache;
        if (paging.cacheOwner == this && paging.cache instanceof ShadowCache ours) {
            cache = ours;
        } else {
            discardCache(paging);
            cache = new ShadowCache(guest.bus);
            paging.cache = cache;
            paging.cacheOwner = this;
        }
        if (cache.current() == null) {
            ShadowDirectory directory = cache.find(paging.guestPgdir);
            if (directory == null) {
                directory = allocateDirectory(guest, cache, paging.guestPgdir);
                if (directory == null) {
                    return null;
                }
                cache.makeCurrent(directory);
                // The CPU may still hold translations from the tables we just threw
                // away (and CR3 may name a page that went back to the pool).
                flushCpu(guest, directory);
                // A fresh directory has no kernel stack mapped; see repinStack.
                repinStack(guest);
            } else {
                cache.makeCurrent(directory);
            }
        }
        return cache;
    }

    /**
     * Forgets whatever shadow tables the guest holds. A cache that can free itself
     * (ours, even from an older revision of this bundle) does so; anything else we
     * cannot account for is only dropped.
     */
    private static void discardCache(PagingState paging) {
        Object old = paging.cache;
        paging.cache = null;
        paging.cacheOwner = null;
        if (old instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception ignoredFailure) {
                // A foreign cache failing to free is its own leak, not the guest's end.
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

    /** Does the guest directory put anything in the switcher's slot? Reading may fault. */
    private static boolean guestMapsSwitcher(Guest guest, int pgdir) {
        return PageEntries.has(readGuestDirectoryEntry(guest, pgdir, SWITCHER_SLOT), X86.PTE_PRESENT);
    }

    /** Reloads CR3: the CPU forgets every cached translation of the current directory. */
    private static void flushCpu(Guest guest, ShadowDirectory current) {
        X86Cpu cpu = guest.cpu();
        if (cpu != null && current != null) {
            cpu.setCr3(current.root());
        }
    }

    /**
     * lguest's words for a read of the guest's tables outside its memory (__lgread).
     * Built from the fault's numbers, never its text, so nothing of Java reaches the
     * reason the Launcher prints.
     */
    private static String badRead(GuestMemoryFault fault) {
        return String.format("bad read address %#x len %d", fault.address(), fault.length());
    }

    private static String hex(int value) {
        return String.format("%#x", value);
    }
}
