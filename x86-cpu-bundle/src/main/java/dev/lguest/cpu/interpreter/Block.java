// A run of decoded instructions that starts at one physical address and stays inside
// one 4 KiB page, ending at the first instruction that leaves the straight line
// unconditionally or may change how code maps (a jump, call, return, interrupt, mode
// change). A conditional branch does not end it: the executor leaves the block where
// one is taken and carries on past one that is not, which saves a block lookup per
// untaken branch. It is what the code cache keeps, so it holds only the decoder's
// description of the code and the bytes it was decoded from. Decoded instructions hold
// absolute EIPs (next, branch targets, pushed return addresses), so a block is valid
// only at the EIP it was decoded at; another mapping of the same page gets its own.
package dev.lguest.cpu.interpreter;

final class Block {
    /** Where the first byte lives: physical frame and offset within it. */
    final int frame, offset;
    /** The EIP the block was decoded at: the only one it may run at. */
    final int eip;
    /** Another block decoded from the same physical place at another EIP, or null. */
    Block alias;
    /** Decoded for a 32-bit code segment (CS.D), which sets the default sizes. */
    final boolean code32;
    final Instruction[] code;
    /** The bytes decoded, to re-check the block after memory was written behind the CPU's back. */
    final byte[] bytes;
    /**
     * The same bytes as little-endian longs, the last one zero-padded, with the mask of
     * its real bytes: the re-check compares a word at a time (see CodeCache.unchanged).
     */
    final long[] words;
    final long lastWordMask;
    /**
     * Length in bytes, kept apart from the bytes: the run loop's lookup checks it
     * against the CS limit on every block entry, and the bytes array is another cache
     * line, which Linux's fork and exit paths (thousands of blocks a round, each entered
     * a few times) mostly find out of the processor's caches.
     */
    private final int length;
    /**
     * The block ends in a flag-setting fast form (CMP, TEST, an ALU operation, INC, DEC)
     * and the Jcc reading its flags: the pair compiled code ends nearly every loop
     * with. The executor runs the two without dispatching the Jcc.
     */
    final boolean endsInCompareAndBranch;
    /**
     * Left to a translating CPU built on this package (unused by the interpreter): the
     * block's compiled form (or a CompiledBlock.Marker of its state), and how many
     * times it ran before it was compiled. Volatile because a background compiler
     * publishes it; a read is a plain load on x86.
     */
    volatile CompiledBlock translation;
    int runs;
    /** Left to a translating CPU too: runs of the compiled form, towards compiling a region from it. */
    int compiledRuns;
    /** The run() call in which the bytes were last checked against memory. */
    int checkedEpoch;
    /** The code cache's record of this block's frame it was kept in (CodeCache.lookup's hint). */
    Object cachedIn;

    /**
     * Two remembered successors: the block found at an EIP right after this one ran,
     * each tagged with the link generation of the code segment it was found under and
     * followed only under that generation (the same CS, and no TLB flush or dropped
     * code since: LinkContexts), which lets a loop skip the TLB and the cache.
     */
    Block link0, link1;
    int linkEip0, linkEip1, linkGeneration0, linkGeneration1;

    /**
     * The remembered block at this EIP, or null. Only one checked in this block's epoch
     * (the current one: this block is running) is returned; a link may be older than
     * the run, and the block it names not yet re-checked in it.
     */
    Block successor(int eip, int generation) {
        if (linkEip0 == eip && linkGeneration0 == generation && link0 != null
                && link0.checkedEpoch == checkedEpoch) {
            return link0;
        }
        if (linkEip1 == eip && linkGeneration1 == generation && link1 != null
                && link1.checkedEpoch == checkedEpoch) {
            return link1;
        }
        return null;
    }

    /**
     * The block once linked at this EIP under any generation, or null: after a TLB flush
     * renewed every generation (a CR3 load at each of Linux's process switches), a
     * candidate the code lookup confirms (CodeCache.lookup's hint) instead of searching.
     */
    Block linkedAt(int eip) {
        if (linkEip0 == eip && link0 != null) {
            return link0;
        }
        return linkEip1 == eip ? link1 : null;
    }

    void link(int eip, int generation, Block next) {
        if (link0 == null || linkGeneration0 != generation) {
            link0 = next;
            linkEip0 = eip;
            linkGeneration0 = generation;
        } else {
            // The second slot takes the newcomer; the first keeps the older successor.
            link1 = next;
            linkEip1 = eip;
            linkGeneration1 = generation;
        }
    }

    Block(int frame, int offset, boolean code32, Instruction[] code, byte[] bytes, int epoch) {
        this.frame = frame;
        this.offset = offset;
        this.code32 = code32;
        this.code = code;
        this.eip = code[0].start;
        this.bytes = bytes;
        this.length = bytes.length;
        this.words = new long[(bytes.length + 7) >>> 3];
        for (int i = 0; i < bytes.length; i++) {
            words[i >>> 3] |= (bytes[i] & 0xffL) << (8 * (i & 7));
        }
        int tail = bytes.length & 7;
        this.lastWordMask = tail == 0 ? -1L : (1L << (8 * tail)) - 1;
        int n = code.length;
        this.endsInCompareAndBranch = n >= 2 && code[n - 1].handler == Executor.JCC
                && Executor.setsFlagsOnly(code[n - 2].handler);
        this.checkedEpoch = epoch;
    }

    /** Length in bytes, from the first instruction's first byte to the last one's end. */
    int length() {
        return length;
    }
}
