// The translating CPU's chain of compiled blocks: once one compiled block has run, the
// next one is found (its link, else the jump cache, else the code cache's lookup) and
// run straight away, for as long as each next block is compiled, the budget covers it
// and nothing asked the run loop to look. This is the path every call, return and
// taken branch between compiled blocks goes through, so it lives in a method of its
// own, apart from the interpreter's per-block loop (Executor.runBlock) that
// TranslatingCpu.runBlock also calls: HotSpot then compiles this small loop on its own,
// and an uncommon trap in the interpreter's code, where an instruction of a new kind
// lands, no longer throws this loop's compiled code away with it (CallsBenchmark: 2-4%
// more calls and returns per CPU second). Measured with perf, one pass of this loop
// is about 45 instructions, some 11 cycles: the call into the block's hidden class
// through its vtable, every value reloaded from the stack after it (HotSpot's
// compiled calls keep nothing in registers), the five stop checks and the link's
// loads. A block that is not compiled yet, or longer than what is left of the
// budget, goes back to TranslatingCpu.runBlock, which counts it towards being
// compiled or interprets it, as before the chain was split off.
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.X86;

final class BlockChain {
    private BlockChain() {
    }

    /**
     * Runs {@code compiled} (the translation of {@code block}) and the compiled blocks
     * that follow it. {@code start} is the retired count when the run loop handed over
     * and {@code budget} what it allowed from there. Returns the next block when it is
     * not compiled or the budget does not cover it (the caller decides how it runs), or
     * null when the run loop must look: an exit, interrupt(), the budget spent, TF, RF
     * or an armed debug register, no block at the new EIP, or a lockstep comparison
     * after the block; the last block run is then in cpu.chainEnd. A block ended by a
     * ring change (INT, IRET) or another change of what a lookup answers is followed
     * here, as the run loop would follow it: a system call's way in and out no longer
     * passes through the run loop twice.
     */
    static Block follow(TranslatingCpu cpu, Block block, CompiledBlock compiled, long start, long budget) {
        // Set only between runs (tests, the factory), so read once per chain.
        Lockstep lockstep = cpu.lockstep;
        int regionThreshold = cpu.regionThreshold;
        while (true) {
            compiled.run(cpu, budget - (cpu.retired - start));
            // Still hot after its first translation: compiled again with the blocks it
            // leads to (TranslatingCpu.regionHot), which its next run takes.
            if (++block.compiledRuns == regionThreshold) {
                cpu.regionHot(block);
            }
            if (lockstep != null) {
                lockstep.afterBlock(cpu);
                cpu.chainEnd = block;
                return null;
            }
            // What the run loop looks at before each block: an exit, interrupt(), the
            // budget, and TF, RF or an armed debug register (then it runs each
            // instruction alone). A block ended for any other reason (a ring change by
            // INT or IRET, a CR3 load, dropped code) is followed here as the run loop
            // would follow it: by a lookup under the link generation now current.
            long left = budget - (cpu.retired - start);
            if (cpu.pendingExit != null || cpu.interruptRequested || left <= 0
                    || (cpu.eflags & (X86.TF | X86.RF)) != 0 || cpu.breakpointsArmed) {
                cpu.chainEnd = block;
                return null;
            }
            int eip = cpu.eip;
            int generation = cpu.linkGeneration;
            Block next = block.successor(eip, generation);
            if (next == null) {
                next = nextByLookup(cpu, block, eip, generation);
                if (next == null) {
                    cpu.chainEnd = block;
                    return null;
                }
            }
            // The run loop clears it before each block it runs.
            cpu.blockEnded = false;
            // A ready translation only: markers (failed, queued) and blocks not yet
            // compiled go back to the caller, which counts their runs and compiles them.
            CompiledBlock translation = next.translation;
            if (translation == null || translation == TranslatingCpu.NOT_COMPILED
                    || translation == BackgroundCompiler.QUEUED || left < translation.instructions) {
                return next;
            }
            block = next;
            compiled = translation;
        }
    }

    /**
     * The block at EIP when {@code block} has no link for it: the jump cache, else the
     * run loop's own lookup (a fault fetching it leaves as it would from the run loop,
     * at this same boundary), which is then linked and remembered. Null: no block there.
     */
    private static Block nextByLookup(TranslatingCpu cpu, Block block, int eip, int generation) {
        Block next = TranslatingCpu.JUMP_CACHE ? cpu.jumps.find(eip, generation, cpu.codeCache.epoch) : null;
        if (next == null) {
            next = cpu.currentBlock(block.linkedAt(eip));
            if (next == null) {
                return null;
            }
            cpu.jumps.remember(eip, cpu.linkGeneration, next);
            block.link(eip, cpu.linkGeneration, next);
        }
        return next;
    }
}
