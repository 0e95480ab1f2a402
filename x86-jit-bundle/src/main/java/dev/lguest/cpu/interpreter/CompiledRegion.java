// A region's translation: several hot blocks of one code page compiled as one JVM method
// (RegionFinder picks them, BlockTranslator.translateRegion builds the class), entered at
// its first block, where the single block's translation was. A jump or a fall-through
// from one member to another is a goto inside the method instead of a return to
// BlockChain.follow and a call into the next block's class (some 45 host instructions).
//
// The other members are reached without the run loop's lookup, so what the lookup would
// check for each of them is checked here once per entry (holds): their bytes in this
// epoch (CodeCache.checkedNow; the entry's were checked by the lookup that found it), the
// CS limit covering them all and a CS base on a page boundary (so that every member's
// EIP lies in the entry's linear page, whose frame the lookup just confirmed), and no
// armed debug register. When any fails the entry block's own translation (fallback)
// runs instead, which leaves by its own exits to the run loop, as before regions.
package dev.lguest.cpu.interpreter;

abstract class CompiledRegion extends CompiledBlock {
    /** The members after the entry, whose bytes holds() checks in each epoch. */
    Block[] members;
    /** The entry block's own translation, run when the region may not be. */
    CompiledBlock fallback;
    /** The highest EIP any member's bytes reach: the CS limit must cover it. */
    long highestOffset;
    /** The code cache's epoch in which all the members were last found unchanged (-1: none yet). */
    int checkedEpoch = -1;

    CompiledRegion(Instruction[] code, int entryLength) {
        super(code, entryLength);
    }

    /** Whether this region may run now in place of its entry block (see above; compiled code calls this). */
    static boolean holds(InterpreterCpu cpu, CompiledRegion region) {
        if (cpu.breakpointsArmed || (cpu.segments.base[Segments.CS] & 0xfff) != 0
                || cpu.segments.codeLimit() < region.highestOffset) {
            return false;
        }
        int epoch = cpu.codeCache.epoch;
        if (region.checkedEpoch == epoch) {
            return true;
        }
        for (Block member : region.members) {
            if (!cpu.codeCache.checkedNow(member)) {
                return false;
            }
        }
        region.checkedEpoch = epoch;
        return true;
    }
}
