// The translating CPU's memory of where EIPs led: a small direct-mapped table from an
// EIP to the block the code cache's lookup (InterpreterCpu.currentBlock) answered for
// it, consulted when the block just run has no link for the new EIP. A block keeps two
// links, which is enough for a jump or a call with one target and a branch with two,
// but not for the transfers whose targets change from run to run: an indirect call
// through a table of functions (a bytecode machine's dispatch: five targets, each
// visited in turn), a return from a function called from many places, a switch's
// jump table. Without this table each of those left its two links behind and paid the
// whole lookup (the TLB, the code page's chain, the CS limit) at every transfer.
//
// Why an entry is exact: the lookup's answer for an EIP depends on nothing the block
// that jumped there knows: only on CS (base, limit, default size, CPL), the mappings
// (TLB), the cached code and the debug registers, which is what a link generation
// stands for (LinkContexts: renewed by a TLB flush, INVLPG, dropped code or a debug
// register change; one per code segment). An entry therefore carries the generation
// it was made under and is used only under that same generation, exactly as a block's
// link is, and only for a block already checked against memory in this run's epoch
// (a block not yet checked goes back through the lookup, which checks it). A return
// whose address was overwritten, a stack switched under a longjmp, a page remapped at
// another address or code rewritten through another mapping: each either lands on
// another EIP (another entry, or a miss) or renewed the generation.
//
// What it holds on to: at most SIZE blocks, dropped ones included until overwritten,
// so the code cache's bound (Translations) may be exceeded by that many translations
// kept reachable for a while; a flush of every translation clears the table.
package dev.lguest.cpu.interpreter;

import java.util.Arrays;

final class JumpCache {
    /** Entries: a power of two. Code that jumps among more places than this misses now and then. */
    static final int SIZE = 1024;

    // No table of EIPs: a block runs only at the EIP it was decoded at, so its own eip
    // is the entry's key (one array fewer to load on every indirect transfer).
    private final int[] generations = new int[SIZE];
    private final Block[] blocks = new Block[SIZE];
    /** Transfers this table answered (the tests check it is used). */
    long hits;

    /** The block remembered at EIP under this generation, already checked in this epoch; else null. */
    Block find(int eip, int generation, int epoch) {
        int slot = slot(eip);
        Block block = blocks[slot];
        if (block != null && block.eip == eip && generations[slot] == generation && block.checkedEpoch == epoch) {
            hits++;
            return block;
        }
        return null;
    }

    /** What the lookup answered at EIP under this generation. */
    void remember(int eip, int generation, Block block) {
        int slot = slot(eip);
        generations[slot] = generation;
        blocks[slot] = block;
    }

    /** Forgets every entry (their blocks may then be collected with their translations). */
    void clear() {
        Arrays.fill(blocks, null);
    }

    /** Code is byte-aligned but functions and loop heads cluster on 16-byte lines: fold the page in. */
    private static int slot(int eip) {
        return (eip ^ (eip >>> 10)) & (SIZE - 1);
    }
}
