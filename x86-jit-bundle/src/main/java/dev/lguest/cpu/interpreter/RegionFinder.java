// Which blocks a region compiles together (CompiledRegion): from a hot compiled block,
// the blocks its compiled jumps and its fall-through lead to, found through its links
// (the two successors the chain remembered, so blocks that actually ran after it), then
// theirs, breadth first. A member must be compiled already (so it is hot and the
// translator takes all of it), lie in the entry's code page at the same frame and EIP
// page (the entry's lookup then vouches for the mapping of all), and be decoded for the
// same code size. Calls and returns stay exits: their targets are elsewhere as often as
// not, and the stack is memory the region would have to trust.
//
// A member is compiled only up to its last instruction that goes on inside the region
// (a jump to a member's start, or its fall-through to one): a block runs on past its
// untaken branches for up to 64 instructions, and what comes after a loop's last branch
// (intloop's CRC block holds the start of the next part) runs once per loop, not per
// pass. Cut there, the member leaves for that instruction's EIP as a block ending there
// would. The whole blocks made the sieve's region of three 64-instruction blocks too
// large a method for HotSpot to inline its memory accesses into (IntLoopBenchmark's
// sieve: 1.0 ns per instruction alone, 1.45 as whole blocks).
//
// Only a loop is worth a region: a member other than the entry must be able to go back
// to the entry's start. Without one, the region is left after one pass through its
// members at the latest (call-heavy code: the calls benchmark's blocks end in calls and
// returns), and it only costs its check on entry and a larger method to warm up.
package dev.lguest.cpu.interpreter;

import java.util.ArrayList;
import java.util.List;

final class RegionFinder {
    /** At most this many blocks in one region. */
    static final int MAX_MEMBERS = 6;
    /**
     * At most this many instructions in one region: HotSpot does not compile a method
     * of more than 8,000 bytes of bytecode (DontCompileHugeMethods), and a larger method
     * spends longer in its interpreter first; BlockTranslator also checks the size.
     */
    static final int MAX_INSTRUCTIONS = 256;

    private RegionFinder() {
    }

    /**
     * The blocks of a region, the entry first, and how many instructions of each it
     * compiles (a prefix: see above).
     */
    record Region(Block[] members, int[] lengths) {
        /** The members' EIPs, each with the instructions compiled and the block's own length. */
        @Override
        public String toString() {
            StringBuilder b = new StringBuilder("region at " + Integer.toHexString(members[0].eip) + ":");
            for (int k = 0; k < members.length; k++) {
                b.append(' ').append(Integer.toHexString(members[k].eip)).append('/').append(lengths[k])
                        .append('/').append(members[k].code.length);
            }
            return b.toString();
        }
    }

    /** The region entered at {@code entry}, members cut (see above); one member alone when nothing joins it. */
    static Region find(Block entry) {
        Block[] members = blocks(entry);
        int[] lengths = new int[members.length];
        boolean loops = false;
        for (int k = 0; k < members.length; k++) {
            lengths[k] = goesOnUpTo(members[k], members);
            loops |= k > 0 && directTargets(members[k]).contains(entry.eip);
        }
        if (!loops) {
            return new Region(new Block[] {entry}, new int[] {entry.code.length});
        }
        return new Region(members, lengths);
    }

    /**
     * How many of the block's instructions reach its last one that may go on at a
     * member's start (a compiled Jcc or JMP there, or a fall-through); all of them if
     * none does (a member the region reaches that only leaves it).
     */
    private static int goesOnUpTo(Block block, Block[] members) {
        Instruction[] code = block.code;
        Instruction last = code[code.length - 1];
        if (BlockTranslator.compiles(last) && !BlockTranslator.leavesBlock(last) && startsMember(last.next, members)) {
            return code.length;
        }
        for (int k = code.length - 1; k >= 0; k--) {
            Instruction in = code[k];
            if (BlockTranslator.compiles(in) && (in.handler == Executor.JCC || in.handler == Executor.JMP)
                    && startsMember(Emitter.nearTarget(in, in.next + in.immediate), members)) {
                return k + 1;
            }
        }
        return code.length;
    }

    private static boolean startsMember(int eip, Block[] members) {
        for (Block member : members) {
            if (member.eip == eip) {
                return true;
            }
        }
        return false;
    }

    /** The blocks of the region entered at {@code entry}, whole, the entry first. */
    private static Block[] blocks(Block entry) {
        List<Block> members = new ArrayList<>();
        members.add(entry);
        int instructions = entry.code.length;
        for (int k = 0; k < members.size() && members.size() < MAX_MEMBERS; k++) {
            Block member = members.get(k);
            for (int target : directTargets(member)) {
                Block next = member.linkedAt(target);
                if (next == null || members.contains(next) || !joins(entry, next)
                        || instructions + next.code.length > MAX_INSTRUCTIONS || members.size() >= MAX_MEMBERS) {
                    continue;
                }
                members.add(next);
                instructions += next.code.length;
            }
        }
        return members.toArray(new Block[0]);
    }

    /** Whether {@code next} may be compiled into a region entered at {@code entry} (see above). */
    private static boolean joins(Block entry, Block next) {
        CompiledBlock translation = next.translation;
        // Offsets equal to the EIPs' own: decoded under a CS base on a page boundary, as
        // CompiledRegion.holds requires of the base the region runs under.
        return next.frame == entry.frame && next.eip >>> 12 == entry.eip >>> 12 && next.code32 == entry.code32
                && next.offset == (next.eip & 0xfff) && entry.offset == (entry.eip & 0xfff)
                && translation != null && translation != TranslatingCpu.NOT_COMPILED
                && translation != BackgroundCompiler.QUEUED;
    }

    /** The EIPs the block's compiled code may go on at: its compiled Jcc and JMP targets and its fall-through. */
    static List<Integer> directTargets(Block block) {
        List<Integer> targets = new ArrayList<>();
        for (Instruction in : block.code) {
            if (BlockTranslator.compiles(in) && (in.handler == Executor.JCC || in.handler == Executor.JMP)) {
                int target = Emitter.nearTarget(in, in.next + in.immediate);
                if (!targets.contains(target)) {
                    targets.add(target);
                }
            }
        }
        Instruction last = block.code[block.code.length - 1];
        if (BlockTranslator.compiles(last) && !BlockTranslator.leavesBlock(last) && !targets.contains(last.next)) {
            targets.add(last.next);
        }
        return targets;
    }
}
