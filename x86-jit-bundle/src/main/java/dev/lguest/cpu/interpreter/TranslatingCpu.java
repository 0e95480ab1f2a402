// The translating i686: the interpreter's CPU (registers, segments, TLB, faults,
// interrupts, the run loop and its block cache) with one change: a decoded Block that
// has run often enough is compiled to JVM bytecode (BlockTranslator) and from then on
// runs as that code whenever the budget covers the whole block.
//
// Design note: why compiled blocks are exact.
//  - What is compiled: the interpreter's own cached Blocks, so the rules that keep
//    them valid keep their compiled forms valid too: blocks are kept by physical place
//    and run only at the EIP they were decoded at, a CPU store into decoded bytes drops
//    the page's blocks (and with them the compiled code, which a hidden class keeps
//    collectable), and writes behind the CPU are caught by the per-run byte check.
//  - Budget: a block whose instructions exceed what is left of the budget is run by
//    the interpreter, so a compiled block never stops part-way for the budget.
//  - Everything the translator does not compile is run by the interpreter's own
//    handler for that one instruction (Executor.execute), inside the compiled block.
//  - A fault in compiled code commits the registers, flags, EIP and retired count of
//    the faulting instruction's boundary before the CpuFault leaves, as the
//    interpreter's runBlock does, and the run loop delivers it the same way.
//  - Translation off the guest's thread (BackgroundCompiler, when asked for): the
//    guest interprets the block until its compiled form is published; either form
//    leaves the same state.
//  - A bounded code cache (Translations): past a cap every translation is dropped.
//  - The jump cache (JumpCache), consulted between compiled blocks when a block's
//    two links miss, answers only under the same link generation and epoch as a
//    link would, so it never runs a block the lookup would not have found.
//  - Lockstep (a test mode): a reference interpreter on its own copy of RAM runs the
//    same instructions after every block and the whole CpuState is compared (Lockstep).
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.memory.PhysicalMemory;

class TranslatingCpu extends InterpreterCpu {
    /** Set in a Block that must not be compiled (translation failed): it stays interpreted. */
    static final CompiledBlock NOT_COMPILED = new CompiledBlock.Marker("not compiled");

    private final int threshold;
    /**
     * Runs of a block of user code (CPL 3) before it is compiled; the threshold unless
     * the factory was told otherwise (lguest.jit.userThreshold). A Linux boot runs
     * kernel code once or a few times, a benchmark program its few blocks millions of
     * times: in the Linux benchmark's calls program about a tenth of the first run's
     * instructions were interpreted, its blocks waiting for their 10,000 runs.
     */
    int userThreshold;
    /**
     * Runs of a compiled block (counted by BlockChain.follow) after which it is compiled
     * again as a region with the hot blocks it leads to (RegionFinder, CompiledRegion);
     * lguest.jit.regionThreshold, 0 for never. Counted apart from the first threshold
     * so that the first translation comes as soon as before: a region's larger method
     * spends longer in HotSpot's interpreter and compilers before it runs compiled, which
     * pays only for code that keeps running.
     */
    int regionThreshold = Integer.getInteger("lguest.jit.regionThreshold", DEFAULT_REGION_THRESHOLD);
    static final int DEFAULT_REGION_THRESHOLD = 20_000;
    /** Each region looked for is described on stderr (lguest.jit.debugRegions), for finding why a loop got none. */
    static final boolean DEBUG_REGIONS = Boolean.getBoolean("lguest.jit.debugRegions");
    /** Regions compiled, and regions that could not be (too large, a translator limit): the block kept its own. */
    long regionsCompiled, regionFailures;
    /** Regions not made because their method would have been too large for HotSpot to compile. */
    long regionsTooLarge;
    /** A translation failure stops the CPU as an internal error (tests) instead of being skipped. */
    private final boolean strict;
    /** Compile on the background thread (BackgroundCompiler) instead of the guest's. */
    private final boolean background;
    private BlockTranslator translator;
    /** The blocks holding translations, with the cap on them. */
    final Translations translations;
    /** Blocks compiled on this thread, and translations that failed (a translator bug: the block stays interpreted). */
    long blocksCompiled, translationFailures;
    /** The jump cache can be turned off (lguest.jit.jumpCache=false), for benchmarks comparing. */
    static final boolean JUMP_CACHE = !"false".equals(System.getProperty("lguest.jit.jumpCache"));
    /** Where EIPs led lately, for the transfers a block's two links do not cover. */
    final JumpCache jumps = new JumpCache();
    /** The last block a chain ran when BlockChain.follow stopped it: the run loop links from it. */
    Block chainEnd;
    /** The reference a lockstep run compares against after every block, or null. */
    Lockstep lockstep;

    TranslatingCpu(PhysicalMemory bus, int threshold, boolean strict) {
        this(bus, threshold, strict, false, Translations.DEFAULT_CAP);
    }

    TranslatingCpu(PhysicalMemory bus, int threshold, boolean strict, boolean background, int maxTranslations) {
        super(bus);
        this.threshold = threshold;
        this.userThreshold = threshold;
        this.strict = strict;
        this.background = background;
        this.translations = new Translations(maxTranslations);
    }

    @Override
    public CpuExit run(long instructionBudget, boolean onlyNamedWrites) {
        if (lockstep == null) {
            return super.run(instructionBudget, onlyNamedWrites);
        }
        lockstep.startRun(this);
        CpuExit exit = super.run(instructionBudget, onlyNamedWrites);
        if (!lockstep.finishRun(this, exit)) {
            internalErrors++;
            return new CpuExit(ExitReason.SHUTDOWN, 0, 0, exit.instructions());
        }
        return exit;
    }

    /**
     * Runs a block, and after a compiled one the blocks that follow it (found and
     * linked as the run loop does: Block.successor, else the jump cache, else the code
     * cache's lookup; BlockChain) as
     * long as the budget covers them and nothing asked the loop to look (an ended
     * block, an exit, interrupt(), a single step or debug register); a block not
     * compiled yet is the last one. That spares a pass through the run loop per block,
     * and links each block to its own successors. Returns the last block run, which
     * the run loop links to the block after it.
     */
    @Override
    Block runBlock(Block block, long budget) {
        enforceCap();
        long start = retired;
        while (true) {
            long left = budget - (retired - start);
            CompiledBlock compiled = compiledFor(block);
            if (compiled == null || left < block.code.length) {
                if (JitReport.COUNTING_BLOCKS) {
                    JitReport.interpretedBlock(block, compiled);
                }
                executor.runBlock(block, left);
                break;
            }
            Block next = BlockChain.follow(this, block, compiled, start, budget);
            if (next == null) {
                return chainEnd;
            }
            block = next;
        }
        if (lockstep != null) {
            lockstep.afterBlock(this);
        }
        return block;
    }

    /** The cap on translations; a flush of them all also empties the jump cache, which holds blocks. */
    private void enforceCap() {
        long flushes = translations.flushes;
        translations.enforceCap();
        if (translations.flushes != flushes) {
            jumps.clear();
        }
    }

    /** The block's compiled form, compiling it when it has become hot; null while it is not. */
    private CompiledBlock compiledFor(Block block) {
        // A volatile read of a typed field, not a type test: HotSpot compiled the type
        // test speculatively on the hidden classes it had seen, and threw this loop
        // away each time another translation came (speculate_class_check).
        CompiledBlock translation = block.translation;
        if (translation != null && translation != NOT_COMPILED && translation != BackgroundCompiler.QUEUED) {
            return translation;
        }
        // The count for this privilege without a branch on it: HotSpot compiles this
        // into the run loop (InterpreterCpu.run) while the kernel boots, a branch on
        // CPL 3 never taken there traps when init starts and throws the run loop away
        // (LogCompilation: once every boot). All ones when CPL is 3, else 0:
        int user = -((cpl + 1) >> 2);
        if (translation != null || block.runs++ < threshold + ((userThreshold - threshold) & user)) {
            return null;
        }
        return hot(block);
    }

    /**
     * A compiled block that has run regionThreshold times more: compiled again, here, as
     * the region it enters (when other hot blocks of its page join it), which then runs
     * in place of its own translation. A failure leaves the block's own translation.
     */
    void regionHot(Block block) {
        CompiledBlock single = block.translation;
        if (regionThreshold <= 0 || single == null || single == NOT_COMPILED || single == BackgroundCompiler.QUEUED
                || single instanceof CompiledRegion) {
            return;
        }
        RegionFinder.Region region = RegionFinder.find(block);
        if (DEBUG_REGIONS) {
            System.err.println(region);
        }
        if (region.members().length < 2) {
            return;
        }
        try {
            CompiledRegion compiled = translator().translateRegion(region, single, memory);
            if (compiled == null) {
                regionsTooLarge++;
                return;
            }
            block.translation = compiled;
            regionsCompiled++;
        } catch (RuntimeException | LinkageError e) {
            if (DEBUG_REGIONS) {
                System.err.println("region failed: " + e);
            }
            regionFailures++;
            if (strict) {
                throw new IllegalStateException("region translation failed at " + Integer.toHexString(block.eip), e);
            }
        }
    }

    /** This CPU's translator for the guest's thread, made when first needed. */
    private BlockTranslator translator() {
        if (translator == null) {
            translator = new BlockTranslator();
        }
        return translator;
    }

    /**
     * A block that has just run often enough: queued for the background thread (null
     * until its class is ready) or compiled here. Apart from compiledFor, which the run
     * loop inlines, so that this rare path is not compiled into it.
     */
    private CompiledBlock hot(Block block) {
        if (background) {
            if (!BackgroundCompiler.submit(block, translations, memory)) {
                block.runs = 0;
            }
            return null;
        }
        try {
            CompiledBlock compiled = translator().translate(block, memory);
            block.translation = compiled;
            block.compiledRuns = 0;
            translations.added(block);
            blocksCompiled++;
            // The chain in runBlock may go on for long without passing its own check.
            enforceCap();
            return block.translation == compiled ? compiled : null;
        } catch (RuntimeException | LinkageError e) {
            block.translation = NOT_COMPILED;
            translationFailures++;
            if (strict) {
                throw new IllegalStateException("translation failed at " + Integer.toHexString(block.eip), e);
            }
            return null;
        }
    }
}
