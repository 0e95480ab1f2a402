package dev.lguest.api.mmu;

/**
 * What paging state of a guest must survive a change of MMU implementation: the
 * guest-physical address of the page directory the guest is running on (what it last
 * gave NEW_PGTABLE, or the Launcher's initial one).
 *
 * The shadow page tables themselves are a cache, rebuilt on demand from the guest's
 * own tables: an implementation keeps them in {@link #cache}, tagged with itself as
 * {@link #cacheOwner}; a new implementation finding another owner there frees nothing
 * of it by hand but drops it and starts empty.
 */
public final class PagingState {
    public int guestPgdir;
    /**
     * The host page table (a frame of PhysicalMemory's host pages) that maps the
     * switcher's pages at {@code Lguest.SWITCHER_ADDR}: the GDT, IDT and TSS the CPU reads.
     * Every shadow directory's top entry points at it, supervisor-only, as in lguest;
     * the guest's own directory may never map that slot. Set by the switcher.
     */
    public int switcherPageTable;
    public Object cache;
    public Object cacheOwner;
}
