// The paging unit: turns linear addresses into physical pages and reads and writes
// them little-endian. Translations are cached in a small direct-mapped TLB per access
// kind (supervisor/user x read/write), so the common access is one tag compare, one
// array load and a MemorySegment get. A write translation is only cached after the
// walk has set the dirty bit, and a read translation after the accessed bits are set,
// which is why the kinds are kept apart, exactly as a real TLB caches permissions.
//
// Pages holding decoded code (see CodeCache) are never cached for writing: every
// store to them takes the walk, which tells the code cache what was overwritten. So
// the store hit path carries no self-modifying-code check at all.
//
// Data breakpoints (DR0-DR3 with DR7's R/W 01 or 11) work the same way: a linear page
// holding a watched address is never cached, so every data access to it takes the
// slow path, which compares it with the watched ranges and records the hits for the
// CPU to report as #DB after the instruction. Without watches the hit path is unchanged.
//
// The hit path of data accesses (read8/16/32, write8/16/32, and the translator's
// compiled code through the same static methods) uses a second view of each entry:
// for a translation into guest RAM, ramEntries holds the page number and the frame's
// physical address in one long, so a hit is one array load, one compare and one
// access to the single RAM segment at that address (no page object to follow). An
// entry for anything else (host pages, an empty bus) stays absent from that view and
// is served by the page path. An access crossing a page boundary always takes the
// slow path, which translates both pages in order.
//
// Descriptor table reads (readTable) are cached apart, in TableCache, whose frames are
// kept out of the write translations as code frames are, and which every walk, flush
// and INVLPG tells that its entries may read otherwise.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.PF_PROT;
import static dev.lguest.api.cpu.X86.PF_USER;
import static dev.lguest.api.cpu.X86.PF_WRITE;
import static dev.lguest.api.cpu.X86.PTE_ACCESSED;
import static dev.lguest.api.cpu.X86.PTE_DIRTY;
import static dev.lguest.api.cpu.X86.PTE_FRAME;
import static dev.lguest.api.cpu.X86.PTE_PRESENT;
import static dev.lguest.api.cpu.X86.PTE_RW;
import static dev.lguest.api.cpu.X86.PTE_USER;

import dev.lguest.api.cpu.X86;
import dev.lguest.api.memory.PhysicalMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

final class LinearMemory {
    static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;

    /** Access kinds: bit 0 = write, bit 1 = user. */
    static final int READ = 0, WRITE = 1, USER = 2;

    private static final int TLB_BITS = 10;
    private static final int TLB_SIZE = 1 << TLB_BITS;
    private static final int TLB_MASK = TLB_SIZE - 1;
    /** How many slots the TLB's arrays hold: its sets for each of the four access kinds (slot). */
    static final int SLOT_COUNT = 4 * TLB_SIZE;

    /** What an empty bus reads as: all ones. Shared and read-only. */
    private static final MemorySegment EMPTY_BUS = Arena.global().allocate(PhysicalMemory.PAGE_SIZE)
            .fill((byte) 0xff).asReadOnly();

    private final PhysicalMemory bus;
    /** Where writes to an empty bus go to be forgotten. */
    private final MemorySegment discard = MemorySegment.ofArray(new byte[PhysicalMemory.PAGE_SIZE]);
    private final int[] tags = new int[4 * TLB_SIZE];
    /**
     * The same entries for translations into guest RAM: page number in the high 32 bits,
     * the frame's physical address in the low ones; NO_ENTRY (no page number matches)
     * where the slot is empty or translates to something other than RAM.
     */
    final long[] ramEntries = new long[SLOT_COUNT];
    private static final long NO_ENTRY = -1L;
    /** Guest RAM from physical address 0: where every ramEntries address points. */
    final MemorySegment ram;
    private final int ramPages;
    /**
     * Each RAM frame's page as a segment, made the first time a walk ends there: the
     * bus makes a new slice on every call, and a TLB refill (thousands after each of
     * Linux's address-space switches) then allocated one for the page it found.
     */
    private final MemorySegment[] ramPageSegments;
    private final MemorySegment[] pages = new MemorySegment[4 * TLB_SIZE];
    /** The physical frame of each cached translation. */
    private final int[] frames = new int[4 * TLB_SIZE];
    /** Set bit = the RAM frame holds decoded code: its write translations stay uncached. */
    private final long[] codeFrames;
    /** Told about stores into code frames; set once by the CPU. */
    CodeCache codeCache;
    /** The frame the last walk ended in. */
    private int walkedFrame;
    /** The descriptor tables' entries read lately (readTable). */
    final TableCache tables = new TableCache();

    /** The data breakpoints: how many, and each one's start, length, DR6 bit and whether reads count. */
    private int watchCount;
    private final int[] watchStart = new int[4];
    private final int[] watchLength = new int[4];
    private final int[] watchBit = new int[4];
    private final boolean[] watchReads = new boolean[4];
    /** DR6 B0-B3 bits of the data breakpoints the accesses since the CPU cleared it hit. */
    int watchHits;

    private boolean paging;
    private boolean writeProtect;
    private int pageDirectory;

    LinearMemory(PhysicalMemory bus) {
        this.bus = bus;
        this.codeFrames = new long[(bus.ramPages() + 63) >>> 6];
        this.ram = bus.ram();
        this.ramPages = bus.ramPages();
        this.ramPageSegments = new MemorySegment[ramPages];
        flush();
    }

    /** Takes the paging controls (CR0.PG, CR0.WP, CR3) and drops every cached translation. */
    void configure(boolean paging, boolean writeProtect, int cr3) {
        this.paging = paging;
        this.writeProtect = writeProtect;
        this.pageDirectory = cr3 & PTE_FRAME;
        flush();
    }

    void flush() {
        tables.changed();
        Arrays.fill(tags, -1);
        Arrays.fill(pages, null);
        Arrays.fill(ramEntries, NO_ENTRY);
    }

    private void drop(int slot) {
        tags[slot] = -1;
        pages[slot] = null;
        ramEntries[slot] = NO_ENTRY;
    }

    /** The slot of the TLB entry for a linear address and an access kind. */
    static int slot(int linear, int kind) {
        return (kind << TLB_BITS) | ((linear >>> 12) & TLB_MASK);
    }

    /**
     * The RAM byte offset a cached translation gives an access of {@code size} bytes
     * at {@code linear}, or -1 when the slow path must take it (no entry, not RAM, or
     * the access runs into the next page). {@code entry} is ramEntries[slot(linear, kind)].
     */
    static long ramOffset(long entry, int linear, int size) {
        int offset = linear & 0xfff;
        // One test, not two: a tag that differs, or an access running into the next
        // page (PAGE_SIZE - size - offset negative, its sign spread by the shift),
        // leaves bits in miss. Two branches let HotSpot's C2 drop the page-crossing
        // one as never taken from the profile; the first crossing access then threw
        // away every compiled method that had inlined this one (seven of them on a
        // Linux boot, among them the run loop's), to be compiled again. A TLB miss is
        // common, so the single branch keeps both ways compiled.
        int miss = ((int) (entry >>> 32) ^ (linear >>> 12)) | ((PhysicalMemory.PAGE_SIZE - size - offset) >> 31);
        if (miss == 0) {
            return (entry & 0xffffffffL) | offset;
        }
        return -1;
    }

    void invalidate(int linear) {
        tables.changed();
        int vpn = linear >>> 12;
        for (int kind = 0; kind < 4; kind++) {
            int slot = (kind << TLB_BITS) | (vpn & TLB_MASK);
            if (tags[slot] == vpn) {
                drop(slot);
            }
        }
    }

    /**
     * Takes the data breakpoints from the debug registers and drops every cached
     * translation, so watched pages are walked on each access from now on.
     */
    void watch(int[] debugRegisters) {
        int dr7 = debugRegisters[7];
        watchCount = 0;
        for (int n = 0; n < 4; n++) {
            int kind = X86.breakpointKind(dr7, n);
            if (!X86.breakpointEnabled(dr7, n) || (kind != X86.DR7_RW_WRITE && kind != X86.DR7_RW_READ_WRITE)) {
                continue;
            }
            int length = X86.breakpointLength(dr7, n);
            // The CPU ignores the low address bits below the length: a watch is aligned.
            watchStart[watchCount] = debugRegisters[n] & -length;
            watchLength[watchCount] = length;
            watchBit[watchCount] = X86.DR6_B0 << n;
            watchReads[watchCount] = kind == X86.DR7_RW_READ_WRITE;
            watchCount++;
        }
        flush();
    }

    /** Whether a data breakpoint is armed: then every descriptor table read is made, none cached or remembered. */
    boolean watching() {
        return watchCount != 0;
    }

    private boolean isWatchedPage(int vpn) {
        for (int i = 0; i < watchCount; i++) {
            if (watchStart[i] >>> 12 == vpn || (watchStart[i] + watchLength[i] - 1) >>> 12 == vpn) {
                return true;
            }
        }
        return false;
    }

    /** Records the data breakpoints a data access of {@code size} bytes at {@code linear} hits. */
    private void checkWatches(int linear, int size, boolean write) {
        for (int i = 0; i < watchCount; i++) {
            if ((write || watchReads[i])
                    && (Integer.compareUnsigned(linear - watchStart[i], watchLength[i]) < 0
                    || Integer.compareUnsigned(watchStart[i] - linear, size) < 0)) {
                watchHits |= watchBit[i];
            }
        }
    }

    /** The page for a data read of {@code size} bytes: {@link #page} with the watches looked at. */
    private MemorySegment dataPage(int linear, int kind, int size) {
        int vpn = linear >>> 12;
        int slot = (kind << TLB_BITS) | (vpn & TLB_MASK);
        if (tags[slot] == vpn) {
            return pages[slot];
        }
        MemorySegment page = walk(linear, kind, slot);
        if (watchCount != 0) {
            checkWatches(linear, size, false);
        }
        return page;
    }

    /** The page holding a linear address for an access of the given kind, walking on a miss. */
    MemorySegment page(int linear, int kind) {
        int vpn = linear >>> 12;
        int slot = (kind << TLB_BITS) | (vpn & TLB_MASK);
        if (tags[slot] == vpn) {
            return pages[slot];
        }
        return walk(linear, kind, slot);
    }

    private MemorySegment walk(int linear, int kind, int slot) {
        tables.changed(); // the translation it installs may replace one a table entry was read through
        boolean write = (kind & WRITE) != 0;
        boolean user = (kind & USER) != 0;
        int frame;
        if (!paging) {
            frame = linear >>> 12;
        } else {
            int pdeAddress = pageDirectory | ((linear >>> 22) << 2);
            int pde = readPhysical32(pdeAddress);
            if ((pde & PTE_PRESENT) == 0) {
                throw pageFault(linear, write, user, false);
            }
            int pteAddress = (pde & PTE_FRAME) | (((linear >>> 12) & 0x3ff) << 2);
            int pte = readPhysical32(pteAddress);
            if ((pte & PTE_PRESENT) == 0) {
                throw pageFault(linear, write, user, false);
            }
            int rights = pde & pte;
            if (user && (rights & PTE_USER) == 0) {
                throw pageFault(linear, write, user, true);
            }
            // Supervisor writes ignore read-only pages unless CR0.WP says otherwise.
            if (write && (user || writeProtect) && (rights & PTE_RW) == 0) {
                throw pageFault(linear, write, user, true);
            }
            // Entries are written back only when a bit really changes, so read-only
            // page-table pages whose bits are already set are never touched.
            if ((pde & PTE_ACCESSED) == 0) {
                writePhysical32(pdeAddress, pde | PTE_ACCESSED);
            }
            int updated = pte | PTE_ACCESSED | (write ? PTE_DIRTY : 0);
            if (updated != pte) {
                writePhysical32(pteAddress, updated);
            }
            frame = pte >>> 12;
        }
        MemorySegment page = framePage(frame);
        if (page == null) {
            page = write ? discard : EMPTY_BUS;
        }
        walkedFrame = frame;
        if ((!write || !isCodeFrame(frame) && !tables.isProtected(frame)) && (watchCount == 0 || !isWatchedPage(linear >>> 12))) {
            tags[slot] = linear >>> 12;
            pages[slot] = page;
            frames[slot] = frame;
            ramEntries[slot] = frame >= 0 && frame < ramPages
                    ? ((long) (linear >>> 12) << 32) | ((long) frame << 12) : NO_ENTRY;
        }
        return page;
    }

    /** The physical frame a fetch at this linear address reads, walking on a miss. */
    int frame(int linear, int kind) {
        int vpn = linear >>> 12;
        int slot = (kind << TLB_BITS) | (vpn & TLB_MASK);
        if (tags[slot] == vpn) {
            return frames[slot];
        }
        walk(linear, kind, slot);
        return walkedFrame;
    }

    // ---- frames holding decoded code ----

    boolean isCodeFrame(int frame) {
        return frame >= 0 && (frame >>> 6) < codeFrames.length && (codeFrames[frame >>> 6] & (1L << frame)) != 0;
    }

    /** The frame now holds decoded code: drop its write translations so stores are seen. */
    void protectCode(int frame) {
        codeFrames[frame >>> 6] |= 1L << frame;
        dropWriteTranslations(frame);
    }

    private void dropWriteTranslations(int frame) {
        for (int kind = WRITE; kind < 4; kind += 2) {
            for (int slot = kind << TLB_BITS, end = slot + TLB_SIZE; slot < end; slot++) {
                if (frames[slot] == frame && tags[slot] != -1) {
                    drop(slot);
                }
            }
        }
    }

    /** The frame no longer holds decoded code: stores may be cached again. */
    void unprotectCode(int frame) {
        codeFrames[frame >>> 6] &= ~(1L << frame);
    }

    /** The page to store {@code size} bytes at a linear address; tells the code cache of code stores. */
    private MemorySegment pageForWrite(int linear, int size, int kind) {
        int vpn = linear >>> 12;
        int slot = ((kind | WRITE) << TLB_BITS) | (vpn & TLB_MASK);
        if (tags[slot] == vpn) {
            return pages[slot];
        }
        MemorySegment page = walk(linear, kind | WRITE, slot);
        if (isCodeFrame(walkedFrame)) {
            codeCache.written(walkedFrame, linear & 0xfff, size);
        }
        if (watchCount != 0) {
            checkWatches(linear, size, true);
        }
        return page;
    }

    private static CpuFault pageFault(int linear, boolean write, boolean user, boolean present) {
        int code = (present ? PF_PROT : 0) | (write ? PF_WRITE : 0) | (user ? PF_USER : 0);
        return CpuFault.pageFault(linear, code);
    }

    /** The page at a physical frame, or null for nothing there (as the bus answers). */
    private MemorySegment framePage(int frame) {
        if (frame >= 0 && frame < ramPages) {
            MemorySegment page = ramPageSegments[frame];
            if (page == null) {
                page = bus.page(frame);
                ramPageSegments[frame] = page;
            }
            return page;
        }
        return bus.page(frame);
    }

    // The page-table entries a walk reads and marks: in RAM they are read from RAM
    // itself, without a page's segment; only host pages are asked of the bus.
    int readPhysical32(int physical) {
        int frame = physical >>> 12;
        if (frame < ramPages) {
            return ram.get(INT_LE, (physical & 0xfffffffcL));
        }
        MemorySegment page = bus.page(frame);
        if (page == null) {
            return -1;
        }
        return page.get(INT_LE, physical & 0xffc);
    }

    void writePhysical32(int physical, int value) {
        int frame = physical >>> 12;
        if (isCodeFrame(frame)) {
            codeCache.written(frame, physical & 0xffc, 4);
        }
        if (frame < ramPages) {
            ram.set(INT_LE, (physical & 0xfffffffcL), value);
            return;
        }
        MemorySegment page = bus.page(frame);
        if (page != null) {
            page.set(INT_LE, physical & 0xffc, value);
        }
    }

    // ---- data accesses: the hit path, then the page path behind it ----

    int read8(int linear, int kind) {
        long at = ramOffset(ramEntries[slot(linear, kind)], linear, 1);
        if (at >= 0) {
            return ram.get(BYTE, at) & 0xff;
        }
        return slowRead8(linear, kind);
    }

    int read16(int linear, int kind) {
        long at = ramOffset(ramEntries[slot(linear, kind)], linear, 2);
        if (at >= 0) {
            return ram.get(SHORT_LE, at) & 0xffff;
        }
        return slowRead16(linear, kind);
    }

    int read32(int linear, int kind) {
        long at = ramOffset(ramEntries[slot(linear, kind)], linear, 4);
        if (at >= 0) {
            return ram.get(INT_LE, at);
        }
        return slowRead32(linear, kind);
    }

    private int slowRead8(int linear, int kind) {
        return dataPage(linear, kind, 1).get(BYTE, linear & 0xfff) & 0xff;
    }

    private int slowRead16(int linear, int kind) {
        if ((linear & 0xfff) != 0xfff) {
            return dataPage(linear, kind, 2).get(SHORT_LE, linear & 0xfff) & 0xffff;
        }
        return slowRead8(linear, kind) | (slowRead8(linear + 1, kind) << 8);
    }

    private int slowRead32(int linear, int kind) {
        if ((linear & 0xfff) <= 0xffc) {
            return dataPage(linear, kind, 4).get(INT_LE, linear & 0xfff);
        }
        // Across a page boundary the lower page is translated first, as on hardware:
        // when both pages fault, CR2 names the lower one.
        MemorySegment first = dataPage(linear, kind, 4);
        MemorySegment second = dataPage((linear + 3) & ~0xfff, kind, 4);
        int value = 0;
        for (int i = 3; i >= 0; i--) {
            int address = linear + i;
            MemorySegment source = (address >>> 12) == (linear >>> 12) ? first : second;
            value = (value << 8) | (source.get(BYTE, address & 0xfff) & 0xff);
        }
        return value;
    }

    int read(int linear, int size, int kind) {
        return switch (size) {
            case 1 -> read8(linear, kind);
            case 2 -> read16(linear, kind);
            default -> read32(linear, kind);
        };
    }

    void write8(int linear, int value, int kind) {
        long at = ramOffset(ramEntries[slot(linear, kind | WRITE)], linear, 1);
        if (at >= 0) {
            ram.set(BYTE, at, (byte) value);
        } else {
            pageForWrite(linear, 1, kind).set(BYTE, linear & 0xfff, (byte) value);
        }
    }

    void write16(int linear, int value, int kind) {
        long at = ramOffset(ramEntries[slot(linear, kind | WRITE)], linear, 2);
        if (at >= 0) {
            ram.set(SHORT_LE, at, (short) value);
        } else {
            slowWrite16(linear, value, kind);
        }
    }

    private void slowWrite16(int linear, int value, int kind) {
        if ((linear & 0xfff) != 0xfff) {
            pageForWrite(linear, 2, kind).set(SHORT_LE, linear & 0xfff, (short) value);
        } else {
            writeSplit(linear, value, 2, kind);
        }
    }

    void write32(int linear, int value, int kind) {
        long at = ramOffset(ramEntries[slot(linear, kind | WRITE)], linear, 4);
        if (at >= 0) {
            ram.set(INT_LE, at, value);
        } else {
            slowWrite32(linear, value, kind);
        }
    }

    private void slowWrite32(int linear, int value, int kind) {
        if ((linear & 0xfff) <= 0xffc) {
            pageForWrite(linear, 4, kind).set(INT_LE, linear & 0xfff, value);
        } else {
            writeSplit(linear, value, 4, kind);
        }
    }

    void write(int linear, int size, int value, int kind) {
        switch (size) {
            case 1 -> write8(linear, value, kind);
            case 2 -> write16(linear, value, kind);
            default -> write32(linear, value, kind);
        }
    }

    /** A write across a page boundary: both pages are translated before either is touched. */
    private void writeSplit(int linear, int value, int size, int kind) {
        MemorySegment first = pageForWrite(linear, size, kind);
        // A fault on the upper page reports its first byte, the lowest address faulting.
        MemorySegment second = pageForWrite((linear + size - 1) & ~0xfff, size, kind);
        int firstPage = linear >>> 12;
        for (int i = 0; i < size; i++) {
            int address = linear + i;
            MemorySegment target = (address >>> 12) == firstPage ? first : second;
            target.set(BYTE, address & 0xfff, (byte) (value >>> (8 * i)));
        }
    }

    /**
     * The 8 bytes of a descriptor table entry at a linear address, read with supervisor
     * rights as the CPU reads its tables: two 4-byte reads, low then high, or the same
     * bytes from TableCache when nothing could have changed them since.
     */
    long readTable(int linear) {
        boolean cacheable = watchCount == 0 && (linear & 0xfff) <= 0xff8;
        if (cacheable) {
            int slot = tables.find(linear);
            if (slot >= 0) {
                return tables.words(slot);
            }
        }
        int low = read32(linear, READ);
        int high = read32(linear + 4, READ);
        long value = (low & 0xffffffffL) | ((long) high << 32);
        if (cacheable) {
            // The reads left the page's read translation in the TLB (nothing is watched).
            int frame = frame(linear, READ);
            if (tables.protect(frame)) {
                dropWriteTranslations(frame);
            }
            tables.put(linear, value);
        }
        return value;
    }

    /** Makes sure a write of this size would not fault, without writing. */
    void probeWrite(int linear, int size, int kind) {
        page(linear, kind | WRITE);
        page((linear + size - 1) & ~0xfff, kind | WRITE);
    }
}
