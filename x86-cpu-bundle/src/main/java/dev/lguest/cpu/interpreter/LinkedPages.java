// The linear pages block links may lead into: every page a code lookup translated
// since the links were last all forgotten (InterpreterCpu.unlinkBlocks), kept as a
// small set of bits hashed on the page number. An INVLPG of a page outside it cannot
// change where any live link leads, so it need not forget them all.
//
// Why that is exact: a link (and a jump cache entry) is the answer of a lookup at one
// EIP, and a block never runs past the 4 KiB page it starts on, so that answer depends
// on the translation of that one linear page (besides CS and the cached code, which
// renew the generations on their own). Every lookup adds its page here once it has its
// answer (the lookup itself may drop code, which empties the set), before the caller
// links it, and the set is emptied only together with a renewal of every generation,
// which kills every link made before. So a page left out of the set has no live link
// into it. A hashed bit may stand for several pages: a page that only shares a bit
// with a linked one costs a needless unlink, never a stale link.
//
// What it saves: Linux's exit and exec release a process's page tables, and the shadow
// page tables drop each of the 1,024 pages of a released 4 MiB slot with an INVLPG; a
// copy-on-write fault or a page-table update of a data page is one more. On the Linux
// benchmark's forkexec that was about 2,050 INVLPGs a round, each renewing every
// generation; now about 7 renewals a round are left, most of them CR3 loads (5.5 a
// round). It did not make the code lookups fewer (about 2,600 a round either way):
// the INVLPGs come in the same exits as the address-space switches, whose CR3 load
// forgets the links anyway.
package dev.lguest.cpu.interpreter;

import java.util.Arrays;

final class LinkedPages {
    /** Bits in the set, a power of two: a 16 MiB window of linear pages maps one to one. */
    static final int BITS = 4096;

    private final long[] bits = new long[BITS / 64];

    /** A lookup answered at this linear page (number): links may lead into it. */
    void add(int pageNumber) {
        bits[(pageNumber & (BITS - 1)) >>> 6] |= 1L << pageNumber;
    }

    /** Whether a live link may lead into this linear page (number). */
    boolean mayContain(int pageNumber) {
        return (bits[(pageNumber & (BITS - 1)) >>> 6] & (1L << pageNumber)) != 0;
    }

    /** Every link was forgotten: no page is linked into any more. */
    void clear() {
        Arrays.fill(bits, 0L);
    }
}
