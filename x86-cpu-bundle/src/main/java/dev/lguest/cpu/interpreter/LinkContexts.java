// The link generations of the code segments the CPU ran in lately. A block's link to
// its successor was found by a lookup (InterpreterCpu.currentBlock) whose answer
// depends on the TLB, the cached code and the code segment: CS's base and limit, its
// default size, and the CPL in its selector, which picks the TLB's user or supervisor
// rights. A link is therefore tagged with the generation of the code segment it was
// made under, and followed only while that same segment is loaded and nothing has
// renewed the generation.
//
// One generation for all code segments would forget every link at each system call
// (INT to the kernel's CS, IRET back to the process's): with one per segment, the
// kernel's links survive the return to user mode and the process's survive the
// call. Segments are told apart by their whole cache (selector, base, limit,
// attributes), so a CS reloaded with another base or limit under the same selector
// is another context. Generations come from one counter and are never reused, so a
// link tagged under one context can never match another, nor an evicted one.
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.SegmentCache;

final class LinkContexts {
    /** Code segments remembered; the oldest is replaced (Linux uses two, plus the boot's). */
    static final int SIZE = 4;

    private final SegmentCache[] segments = new SegmentCache[SIZE];
    private final int[] generations = new int[SIZE];
    private int current, nextVictim, lastGeneration;

    /** Makes a code segment the current one and returns its link generation. */
    int select(SegmentCache cs) {
        if (cs == segments[current] || cs.equals(segments[current])) {
            return generations[current];
        }
        for (int i = 0; i < SIZE; i++) {
            if (cs.equals(segments[i])) {
                current = i;
                return generations[i];
            }
        }
        current = nextVictim;
        nextVictim = (nextVictim + 1) % SIZE;
        segments[current] = cs;
        generations[current] = ++lastGeneration;
        return generations[current];
    }

    /**
     * Gives every context a new generation (a TLB flush, dropped code, a debug
     * register change: what any lookup answers may differ) and returns the current one's.
     */
    int renewAll() {
        for (int i = 0; i < SIZE; i++) {
            generations[i] = ++lastGeneration;
        }
        return generations[current];
    }
}
