// The descriptor tables' entries the CPU read lately: GDT and LDT descriptors, IDT
// gates and the TSS's inner-ring stacks, 8 bytes each, kept by linear address. A
// system call reads a dozen of them (the gate, CS and SS on the way in, DS, ES and FS
// in the kernel's entry code and again on the way out, CS and SS at the IRET), always
// the same ones; through the TLB and the page behind it (for lguest's switcher pages,
// host pages outside guest RAM, the slow path) that was a large part of its cost.
//
// An entry answers only in the epoch it was read in, and the epoch moves on at
// everything that could make the same read answer otherwise, so a cached read is
// always what the read would return:
//  - the translation: every TLB flush, INVLPG and page walk (a walk may replace the
//    translation the entry was read through) starts a new epoch;
//  - the bytes, written by the CPU: the frames entries come from are protected, their
//    write translations never cached in the TLB (as frames holding decoded code are),
//    so every CPU store into them walks, and the walk moves the epoch on; this covers
//    the translator's compiled stores and the bulk string stores, which only use
//    cached write translations; setting an accessed or busy bit is such a store;
//  - the bytes, written from outside the CPU (the host writes its GDT, TSS and IDT
//    pages between runs, devices write RAM): every run() and every loaded state starts
//    a new epoch;
//  - data breakpoints must see every read: while any is armed nothing is cached.
// Only 8 bytes inside one page are cached, read as two 4-byte reads on a miss (their
// faults and their order those of the reads it replaces). A few frames are protected
// at a time; protecting another one ends the epoch (the entries read from the frame
// it replaces would no longer see its stores).
package dev.lguest.cpu.interpreter;

final class TableCache {
    private static final int SIZE = 64;
    private static final int FRAMES = 4;

    /**
     * Per slot, two longs side by side: the key (the epoch in the high half, the linear
     * address in the low one) and the 8 bytes. Keys start with epoch 0, which is never
     * current, so no slot answers before it was filled.
     */
    private final long[] entries = new long[2 * SIZE];
    private int epoch = 1;
    private final int[] frames = new int[FRAMES];
    private int frameCount, nextVictim;

    /** Anything read from the tables may now read otherwise: forget every entry. */
    void changed() {
        if (++epoch == 0) {
            // After 2^32 epochs a key could match again: empty the slots instead.
            java.util.Arrays.fill(entries, 0);
            epoch = 1;
        }
    }

    /**
     * The current epoch (never 0). While it lasts, every 8-byte read of a protected
     * frame within one page answers the same bytes: what TransferMemo relies on.
     */
    int epoch() {
        return epoch;
    }

    /** Whether this frame's write translations must stay out of the TLB. */
    boolean isProtected(int frame) {
        for (int i = 0; i < frameCount; i++) {
            if (frames[i] == frame) {
                return true;
            }
        }
        return false;
    }

    private long key(int linear) {
        return ((long) epoch << 32) | (linear & 0xffffffffL);
    }

    /** The index of a linear address's entry, or -1 when it is not cached in this epoch. */
    int find(int linear) {
        int at = ((linear >>> 3) & (SIZE - 1)) << 1;
        return entries[at] == key(linear) ? at : -1;
    }

    long words(int at) {
        return entries[at + 1];
    }

    /**
     * Protects a frame for entries about to be read from it; returns true when it was
     * not protected yet, so the caller drops its cached write translations. Replacing a
     * protected frame ends the epoch.
     */
    boolean protect(int frame) {
        if (isProtected(frame)) {
            return false;
        }
        if (frameCount < FRAMES) {
            frames[frameCount++] = frame;
        } else {
            frames[nextVictim] = frame;
            nextVictim = (nextVictim + 1) % FRAMES;
            changed();
        }
        return true;
    }

    /** Caches 8 bytes read at a linear address in the current epoch. */
    void put(int linear, long value) {
        int at = ((linear >>> 3) & (SIZE - 1)) << 1;
        entries[at] = key(linear);
        entries[at + 1] = value;
    }
}
