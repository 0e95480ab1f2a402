package dev.lguest.api.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * The physical address space the CPU sees while it runs one guest.
 *
 * On a real lguest host the CPU's page walk ends in host-physical frames: the
 * guest's RAM (pages of the Launcher) and the host's own pages that the guest never
 * sees directly, such as the shadow page tables and the switcher's GDT, IDT and TSS.
 * This bus models exactly that: guest RAM is mapped 1:1 from physical address 0, and
 * the host's private pages are handed out above {@link #HOST_BASE}. The CPU walks
 * page tables and fetches descriptors through {@link #page(int)}; nothing else.
 *
 * Physical addresses where nothing is mapped read as all ones, like an empty bus.
 * Host pages are allocated and freed by one guest's components on that guest's
 * thread, so allocation is synchronized only to keep a swap's hand-over safe.
 */
public final class PhysicalMemory implements AutoCloseable {
    /** Page size and shift of the 32-bit x86 without PAE. */
    public static final int PAGE_SIZE = 4096;
    public static final int PAGE_SHIFT = 12;
    /** Host-private pages live from 3.75 GiB up: beyond any guest's RAM. */
    public static final long HOST_BASE = 0xF000_0000L;
    private static final int HOST_BASE_PFN = (int) (HOST_BASE >>> PAGE_SHIFT);
    private static final int MAX_HOST_PAGES = (int) ((0x1_0000_0000L - HOST_BASE) >>> PAGE_SHIFT);

    private final MemorySegment ram;
    private final int ramPages;
    private final Arena arena;
    private final List<MemorySegment> hostPages;
    private final BitSet freeHostPages;
    /** False for a view made by withRam: the host pages belong to the bus it was made from. */
    private final boolean ownsHostPages;

    /** @param ram guest RAM, mapped at physical 0 */
    public PhysicalMemory(MemorySegment ram) {
        this(ram, Arena.ofShared(), new ArrayList<>(), new BitSet(), true);
    }

    private PhysicalMemory(MemorySegment ram, Arena arena, List<MemorySegment> hostPages, BitSet freeHostPages,
            boolean ownsHostPages) {
        this.ram = ram;
        this.ramPages = (int) Math.min(ram.byteSize() >>> PAGE_SHIFT, HOST_BASE_PFN);
        this.arena = arena;
        this.hostPages = hostPages;
        this.freeHostPages = freeHostPages;
        this.ownsHostPages = ownsHostPages;
    }

    /**
     * A bus with other RAM at physical 0 and this bus's own host-private pages (the same
     * pages, not copies): what a second CPU needs to walk the same shadow page tables
     * over a copy of the guest's RAM (the translator's lockstep test mode). Closing the
     * view leaves the host pages to this bus.
     */
    public PhysicalMemory withRam(MemorySegment otherRam) {
        return new PhysicalMemory(otherRam, arena, hostPages, freeHostPages, false);
    }

    /** The 4 KiB page at a physical frame number, or null if nothing is there. */
    public MemorySegment page(int pfn) {
        if (pfn >= 0 && pfn < ramPages) {
            return ram.asSlice((long) pfn << PAGE_SHIFT, PAGE_SIZE);
        }
        int host = pfn - HOST_BASE_PFN;
        if (host >= 0) {
            synchronized (hostPages) {
                if (host < hostPages.size() && !freeHostPages.get(host)) {
                    return hostPages.get(host);
                }
            }
        }
        return null;
    }

    /** Guest RAM, as mapped at physical address 0. */
    public MemorySegment ram() {
        return ram;
    }

    public int ramPages() {
        return ramPages;
    }

    /** True if the frame is one of the host's private pages. */
    public static boolean isHostFrame(int pfn) {
        return Integer.compareUnsigned(pfn, HOST_BASE_PFN) >= 0;
    }

    /** Allocates a zeroed host-private page and returns its frame number. */
    public int allocateHostPage() {
        synchronized (hostPages) {
            int index = freeHostPages.nextSetBit(0);
            if (index >= 0) {
                freeHostPages.clear(index);
                hostPages.get(index).fill((byte) 0);
            } else {
                if (hostPages.size() >= MAX_HOST_PAGES) {
                    throw new IllegalStateException("out of host pages");
                }
                index = hostPages.size();
                hostPages.add(arena.allocate(PAGE_SIZE, PAGE_SIZE));
            }
            return HOST_BASE_PFN + index;
        }
    }

    /** Returns a host page to the pool. */
    public void freeHostPage(int pfn) {
        int index = pfn - HOST_BASE_PFN;
        synchronized (hostPages) {
            if (index < 0 || index >= hostPages.size() || freeHostPages.get(index)) {
                throw new IllegalArgumentException("not an allocated host page: " + Integer.toHexString(pfn));
            }
            freeHostPages.set(index);
        }
    }

    /** How many host pages are in use (for statistics and leak tests). */
    public int hostPagesInUse() {
        synchronized (hostPages) {
            return hostPages.size() - freeHostPages.cardinality();
        }
    }

    @Override
    public void close() {
        if (ownsHostPages) {
            arena.close();
        }
    }
}
