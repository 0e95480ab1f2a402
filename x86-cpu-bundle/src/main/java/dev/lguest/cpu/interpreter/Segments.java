// The six segment registers and the descriptor tables behind them. Each register keeps
// its API cache (selector, base, limit, attributes) plus precomputed bounds and
// read/write permission, so that every memory operand is checked with two unsigned
// compares; a flat segment (base 0, limit 4 GiB, usable: what Linux loads in every
// register) needs only one, which the flat masks answer. With alignment checking on
// (CPL 3, CR0.AM, EFLAGS.AC) nothing counts as flat and the checked path also checks
// alignment. Loading a selector reads the GDT or LDT through paging with supervisor
// rights (the CPU reads descriptors for itself, whatever the CPL) and applies the
// protection checks of the Intel manual; the accessed bit is written only when it is
// clear, because the host keeps GDT pages read-only with the bits pre-set.
//
// A Linux system call loads DS, ES and FS twice and SS, CS once each way, nearly always
// with a selector and descriptor seen a moment before. The descriptor is still read
// from the table every time (so a changed table, LDTR or mapping is seen exactly as on
// the CPU); what is saved is the work after the read: a load that reads the same words
// for the same selector at the same CPL as the load that produced the register's
// current cache would produce that same cache again, so it is skipped, and decoding
// words already decoded returns the same (immutable) cache instead of a new one.
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.X86;

final class Segments {
    static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;
    private static final int[] DATA_REGISTERS = {ES, DS, FS, GS};
    /** A null selector's cache, by its RPL (the low two bits it keeps). */
    private static final SegmentCache[] NULL_BY_RPL = {SegmentCache.NULL, new SegmentCache(1, 0, 0, 0),
        new SegmentCache(2, 0, 0, 0), new SegmentCache(3, 0, 0, 0)};

    final SegmentCache[] cache = new SegmentCache[6];
    final int[] base = new int[6];
    private final long[] lowest = new long[6];
    private final long[] highest = new long[6];
    private final boolean[] readable = new boolean[6];
    private final boolean[] writable = new boolean[6];
    /**
     * Bit s set: segment s is flat (base 0, offsets 0 to 4 GiB - 1) and readable, or
     * writable; bit FLAT_STACK: SS is flat, writable and 32-bit (B set), so a push or a
     * pop is a flat access at ESP itself.
     */
    private int flatReadableSegments, flatWritableSegments;
    static final int FLAT_STACK = 1 << 6;
    /**
     * What the unchecked path may use: those bits, or none while alignment is checked.
     * Kept current on every segment load and alignment change, so a fast path (the
     * translator's compiled accesses, JitRuntime) tests one bit and needs no other check
     * of the segment: only the 4 GiB end, which its page-crossing check covers.
     */
    int flatReadable, flatWritable;
    /** CPL 3 with CR0.AM and EFLAGS.AC: every data access must be aligned to its size. */
    private boolean alignmentCheck;
    private final InterpreterCpu cpu;
    /**
     * Per register, the cache loadData or loadStack last installed and the selector,
     * descriptor words (accessed bit set) and CPL it came from; null when none.
     */
    private final SegmentCache[] loadedCache = new SegmentCache[6];
    private final long[] loadedDescriptor = new long[6];
    private final int[] loadedSelector = new int[6], loadedCpl = new int[6];
    /** Recently decoded descriptors, by selector index: decode() is a pure function of both. */
    private static final int DECODED = 16;
    private final SegmentCache[] decoded = new SegmentCache[DECODED];
    private final long[] decodedWords = new long[DECODED];

    Segments(InterpreterCpu cpu) {
        this.cpu = cpu;
        for (int s = 0; s < 6; s++) {
            set(s, SegmentCache.NULL);
        }
    }

    /**
     * Installs a cache and derives the bounds every access is checked against (worked
     * out in locals and stored once: a system call installs CS, SS and FS twice each).
     */
    void set(int s, SegmentCache c) {
        if (cache[s] == c) {
            return; // everything below is derived from the caches alone
        }
        cache[s] = c;
        int segmentBase = c.base();
        base[s] = segmentBase;
        int attributes = c.attributes();
        long limit = c.limit() & 0xffffffffL;
        int usableBits = SegmentCache.PRESENT | SegmentCache.S_CODE_OR_DATA;
        boolean usable = (attributes & usableBits) == usableBits;
        int type = attributes & 0xf;
        boolean code = (type & 8) != 0;
        long low;
        long high;
        if (!code && (type & 4) != 0) {
            // Expand-down: valid offsets lie above the limit, up to 64 KiB or 4 GiB.
            low = limit + 1;
            high = (attributes & SegmentCache.DEFAULT_BIG) != 0 ? 0xffffffffL : 0xffffL;
        } else {
            low = 0;
            high = limit;
        }
        lowest[s] = low;
        highest[s] = high;
        boolean canRead = usable && (!code || (type & 2) != 0 || s == CS);
        boolean canWrite = usable && !code && (type & 2) != 0;
        readable[s] = canRead;
        writable[s] = canWrite;
        boolean flat = segmentBase == 0 && low == 0 && high == 0xffffffffL;
        int bit = 1 << s;
        int flatRead = flat && canRead ? flatReadableSegments | bit : flatReadableSegments & ~bit;
        int flatWrite = flat && canWrite ? flatWritableSegments | bit : flatWritableSegments & ~bit;
        boolean flatStack = (flatWrite & (1 << SS)) != 0 && cache[SS].big();
        flatReadableSegments = flatStack ? flatRead | FLAT_STACK : flatRead & ~FLAT_STACK;
        flatWritableSegments = flatStack ? flatWrite | FLAT_STACK : flatWrite & ~FLAT_STACK;
        setAlignmentCheck(alignmentCheck);
    }

    /**
     * Turns the alignment check (#AC) on or off. While it is on, no segment counts as
     * flat, so every data access takes the checked path, which also checks alignment;
     * the flat path, where nearly every access goes, carries no check at all.
     */
    void setAlignmentCheck(boolean on) {
        alignmentCheck = on;
        flatReadable = on ? 0 : flatReadableSegments;
        flatWritable = on ? 0 : flatWritableSegments;
    }

    /**
     * #AC(0) for a misaligned linear address: words at odd addresses, doublewords off
     * a multiple of four, the x87's 8- and 10-byte operands off a multiple of eight
     * (bigger images, FSAVE and FSTENV, only need four); nothing while the check is off.
     */
    void checkAlignment(int linear, int size) {
        if (!alignmentCheck) {
            return;
        }
        int mask = switch (size) {
            case 1 -> 0;
            case 2 -> 1;
            case 8, 10 -> 7;
            default -> 3;
        };
        if ((linear & mask) != 0) {
            throw CpuFault.of(X86.AC_VECTOR, 0);
        }
    }

    private static CpuFault limitFault(int s) {
        return s == SS ? CpuFault.stackFault(0) : CpuFault.generalProtection(0);
    }

    int linearForRead(int s, int offset, int size) {
        // Flat: the offset is the linear address; only an access running past 4 GiB faults.
        if ((flatReadable & (1 << s)) != 0 && Integer.compareUnsigned(offset, -size) <= 0) {
            return offset;
        }
        return checkedLinearForRead(s, offset, size);
    }

    private int checkedLinearForRead(int s, int offset, int size) {
        long first = offset & 0xffffffffL;
        if (!readable[s] || first < lowest[s] || first + size - 1 > highest[s]) {
            throw limitFault(s);
        }
        int linear = base[s] + offset;
        checkAlignment(linear, size);
        return linear;
    }

    int linearForWrite(int s, int offset, int size) {
        if ((flatWritable & (1 << s)) != 0 && Integer.compareUnsigned(offset, -size) <= 0) {
            return offset;
        }
        return checkedLinearForWrite(s, offset, size);
    }

    private int checkedLinearForWrite(int s, int offset, int size) {
        long first = offset & 0xffffffffL;
        if (!writable[s] || first < lowest[s] || first + size - 1 > highest[s]) {
            throw limitFault(s);
        }
        int linear = base[s] + offset;
        checkAlignment(linear, size);
        return linear;
    }

    /** Code fetch: only the CS limit matters. */
    int linearForFetch(int offset) {
        if ((offset & 0xffffffffL) > highest[CS]) {
            throw CpuFault.generalProtection(0);
        }
        return base[CS] + offset;
    }

    /** The highest valid CS offset. */
    long codeLimit() {
        return highest[CS];
    }

    boolean withinCodeLimit(int offset) {
        return (offset & 0xffffffffL) <= highest[CS];
    }

    // ---- descriptor tables ----

    /** The linear address of a selector's descriptor, or a fault of the given vector. */
    int descriptorAddress(int selector, int faultVector) {
        int index = selector & 0xfff8;
        int tableBase;
        long tableLimit;
        if ((selector & 4) != 0) {
            SegmentCache ldt = cpu.ldtr;
            if ((ldt.selector() & 0xfffc) == 0 || !ldt.present()) {
                throw CpuFault.of(faultVector, selector & 0xfffc);
            }
            tableBase = ldt.base();
            tableLimit = ldt.limit() & 0xffffffffL;
        } else {
            tableBase = cpu.gdtBase;
            tableLimit = cpu.gdtLimit & 0xffffL;
        }
        if (index + 7L > tableLimit) {
            throw CpuFault.of(faultVector, selector & 0xfffc);
        }
        return tableBase + index;
    }

    /** Both words of a descriptor, low in bits 0-31 and high in 32-63. */
    long readDescriptor(int selector, int faultVector) {
        return cpu.memory.readTable(descriptorAddress(selector, faultVector));
    }

    static SegmentCache decode(int selector, long descriptor) {
        return SegmentCache.fromDescriptor(selector, (int) descriptor, (int) (descriptor >>> 32));
    }

    /** decode(), answering the same cache object for words it decoded lately. */
    SegmentCache decoded(int selector, long descriptor) {
        int slot = (selector >>> 3) & (DECODED - 1);
        SegmentCache c = decoded[slot];
        if (c != null && c.selector() == selector && decodedWords[slot] == descriptor) {
            return c;
        }
        c = decode(selector, descriptor);
        decoded[slot] = c;
        decodedWords[slot] = descriptor;
        return c;
    }

    /**
     * Whether loading these descriptor words under this selector at the current CPL
     * would install the cache register s holds now: the same inputs as the load that
     * produced it, whose checks passed and whose accessed bit is already in the table.
     */
    private boolean reloadsCurrent(int s, int selector, long descriptor) {
        return loadedCache[s] != null && cache[s] == loadedCache[s] && loadedSelector[s] == selector
                && loadedDescriptor[s] == descriptor && loadedCpl[s] == cpu.cpl;
    }

    /** Installs the cache a checked load produced and remembers what it came from. */
    private void setLoaded(int s, int selector, SegmentCache c, long descriptor) {
        SegmentCache accessed = markAccessed(c, descriptor);
        set(s, accessed);
        loadedCache[s] = accessed;
        loadedSelector[s] = selector;
        loadedDescriptor[s] = descriptor | ((long) (SegmentCache.TYPE_ACCESSED << 8) << 32);
        loadedCpl[s] = cpu.cpl;
    }

    /** Sets the accessed bit in the table if it is clear, and returns the cache with it set. */
    SegmentCache markAccessed(SegmentCache c, long descriptor) {
        if ((c.attributes() & SegmentCache.TYPE_ACCESSED) != 0) {
            return c;
        }
        int address = descriptorAddress(c.selector(), X86.GP);
        cpu.memory.write32(address + 4, (int) (descriptor >>> 32) | 0x100, LinearMemory.READ);
        return new SegmentCache(c.selector(), c.base(), c.limit(), c.attributes() | SegmentCache.TYPE_ACCESSED);
    }

    /** MOV/POP/LDS into DS, ES, FS or GS. */
    void loadData(int s, int selector) {
        selector &= 0xffff;
        if ((selector & 0xfffc) == 0) {
            set(s, NULL_BY_RPL[selector & 3]);
            return;
        }
        long d = readDescriptor(selector, X86.GP);
        if (reloadsCurrent(s, selector, d)) {
            return;
        }
        SegmentCache c = decoded(selector, d);
        int type = c.type();
        if (!c.isCodeOrData() || (c.isCode() && (type & 2) == 0)) {
            throw CpuFault.generalProtection(selector & 0xfffc);
        }
        boolean conformingCode = c.isCode() && (type & 4) != 0;
        if (!conformingCode && ((selector & 3) > c.dpl() || cpu.cpl > c.dpl())) {
            throw CpuFault.generalProtection(selector & 0xfffc);
        }
        if (!c.present()) {
            throw CpuFault.notPresent(selector & 0xfffc);
        }
        setLoaded(s, selector, c, d);
    }

    /**
     * Checks a stack segment for use at privilege {@code privilege}; the checks of MOV SS,
     * of a stack switch and of an outer return are the same, only the vector differs.
     */
    StackSegment checkStack(int selector, int privilege, int faultVector) {
        selector &= 0xffff;
        if ((selector & 0xfffc) == 0) {
            throw CpuFault.of(faultVector, 0);
        }
        if ((selector & 3) != privilege) {
            throw CpuFault.of(faultVector, selector & 0xfffc);
        }
        long d = readDescriptor(selector, faultVector);
        SegmentCache c = decoded(selector, d);
        if (!c.isCodeOrData() || c.isCode() || (c.type() & 2) == 0 || c.dpl() != privilege) {
            throw CpuFault.of(faultVector, selector & 0xfffc);
        }
        if (!c.present()) {
            throw CpuFault.of(faultVector == X86.GP ? X86.SS_VECTOR : faultVector, selector & 0xfffc);
        }
        StackSegment last = checkedStacks[privilege];
        if (last != null && last.cache() == c && last.descriptor() == d) {
            return last; // a system call checks the same two stacks each time
        }
        StackSegment checked = new StackSegment(c, d);
        checkedStacks[privilege] = checked;
        return checked;
    }

    /** A checked stack segment and its raw descriptor, to be installed after the other checks. */
    record StackSegment(SegmentCache cache, long descriptor) {
    }

    /** The last stack segment checkStack answered for each privilege level. */
    private final StackSegment[] checkedStacks = new StackSegment[4];

    void loadStack(int selector) {
        StackSegment stack = checkStack(selector, cpu.cpl, X86.GP);
        setLoaded(SS, selector & 0xffff, stack.cache(), stack.descriptor());
    }

    /**
     * After a return to an outer level, data segment registers the new level may not
     * use are made null, so the less privileged code cannot keep a kernel segment.
     */
    void nullifyForOuterLevel(int newCpl) {
        for (int s : DATA_REGISTERS) {
            SegmentCache c = cache[s];
            boolean conformingCode = c.isCode() && (c.type() & 4) != 0;
            if (c.isCodeOrData() && !conformingCode && c.dpl() < newCpl) {
                set(s, SegmentCache.NULL);
            }
        }
    }
}
