package dev.lguest.api.memory;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Which pages of guest memory were written since the log was last drained: one bit per
 * 4 KiB page, the way a hypervisor keeps a dirty bitmap while it copies a running
 * guest's memory away (live migration's pre-copy).
 *
 * Three kinds of writer fill it. The guest's own stores go through the shadow page
 * tables, which map every page read-only while a log is on; the first store to a page
 * faults to the host, which marks the page here and maps it writable until the next
 * drain ({@code ShadowPageTables.writeProtect}). The host's components write through
 * {@link GuestMemory}, which marks what it writes while a log is attached to it. The
 * devices' buffers, filled straight through their memory segments as DMA would, are
 * marked when the device hands the buffer back to the guest (the used ring).
 *
 * Marks may come from any thread; a drain takes the set and clears it, word by word,
 * so a mark racing with a drain lands in this drain or the next, never in neither.
 */
public final class DirtyLog {
    private final AtomicLongArray words;
    private final long pages;
    /**
     * One bit per word of {@link #words}: set after a page in that word is newly
     * marked, cleared by a drain before it reads the word. A drain reads only the
     * words named here (a log drained before every run of a guest holds a page or
     * two), and a mark racing a drain is found by that drain or left for the next.
     */
    private final AtomicLongArray summary;

    private static final int[] NONE = new int[0];

    /** A clean log for {@code bytes} of memory (rounded up to whole pages). */
    public DirtyLog(long bytes) {
        this.pages = (bytes + PhysicalMemory.PAGE_SIZE - 1) / PhysicalMemory.PAGE_SIZE;
        this.words = new AtomicLongArray((int) ((pages + 63) / 64));
        this.summary = new AtomicLongArray((words.length() + 63) / 64);
    }

    /** How many pages the log covers. */
    public long pages() {
        return pages;
    }

    /** Marks page {@code pfn}; a page outside the log is nobody's memory and is ignored. */
    public void mark(long pfn) {
        if (pfn < 0 || pfn >= pages) {
            return;
        }
        int word = (int) (pfn >>> 6);
        long bit = 1L << (pfn & 63);
        // Most marks are of pages already marked: a plain read spares the atomic write.
        if ((words.get(word) & bit) == 0) {
            words.getAndAccumulate(word, bit, (w, b) -> w | b);
            long wordBit = 1L << (word & 63);
            if ((summary.get(word >>> 6) & wordBit) == 0) {
                summary.getAndAccumulate(word >>> 6, wordBit, (w, b) -> w | b);
            }
        }
    }

    /** Marks every page that [address, address + length) touches. */
    public void markRange(long address, long length) {
        if (length <= 0) {
            return;
        }
        long last = (address + length - 1) / PhysicalMemory.PAGE_SIZE;
        for (long pfn = address / PhysicalMemory.PAGE_SIZE; pfn <= last; pfn++) {
            mark(pfn);
        }
    }

    /** Is page {@code pfn} marked now? */
    public boolean isDirty(long pfn) {
        if (pfn < 0 || pfn >= pages) {
            return false;
        }
        return (words.get((int) (pfn >>> 6)) & (1L << (pfn & 63))) != 0;
    }

    /** How many pages are marked now. */
    public int count() {
        int n = 0;
        for (int i = 0; i < words.length(); i++) {
            n += Long.bitCount(words.get(i));
        }
        return n;
    }

    /** The marked pages, in ascending order, and a clean log. */
    public int[] drain() {
        int[] pfns = NONE;
        int n = 0;
        for (int s = 0; s < summary.length(); s++) {
            long named = summary.get(s) == 0 ? 0 : summary.getAndSet(s, 0);
            while (named != 0) {
                int i = s * 64 + Long.numberOfTrailingZeros(named);
                named &= named - 1;
                long bits = words.get(i) == 0 ? 0 : words.getAndSet(i, 0);
                while (bits != 0) {
                    if (n == pfns.length) {
                        pfns = java.util.Arrays.copyOf(pfns, Math.max(8, n * 2));
                    }
                    pfns[n++] = i * 64 + Long.numberOfTrailingZeros(bits);
                    bits &= bits - 1;
                }
            }
        }
        return n == pfns.length ? pfns : java.util.Arrays.copyOf(pfns, n);
    }
}
