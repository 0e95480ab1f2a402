// Which of a block's instructions set status flags that nothing can ever see: the
// flags an instruction leaves are dead when, on the straight line after it, an
// instruction that replaces all six status flags (whatever they were) comes before
// anything that could look at them. Looking includes more than a flag read: a fault
// (its handler commits the flags as they stood), leaving the block (the flag record
// goes to the Alu), an instruction the interpreter runs, a join point (a jump target:
// the record is written to the Alu there). So only instructions that can do none of
// these count on the way: register-only moves and the like, which neither read nor
// write the flags, and register-only arithmetic, which replaces them.
//
// The instruction itself can leave the block too, after its flags are set: a store into
// a page of translated code (self-modifying code: the Linux guest patches itself, and
// a store may hit the block's own bytes) drops the block's code, and the block returns
// right after the store (Emitter.exitIfBlockEnded) with its flag record as it stands.
// So an instruction that may store through its memory operand (ADD to memory, INC of
// memory, a shift of memory, ...) never has dead flags, whatever follows it; one that
// only reads its memory operand (ADD of memory to a register, CMP, TEST, IMUL) may.
//
// A form whose flags are dead computes only its value (a shift is one JVM shift, a
// multiply one JVM multiply) instead of the interpreter's flag functions, which are
// too large for HotSpot to inline in a big block and cost most of a shift's time.
// The flag locals then keep what they held: nothing reads them before they are
// replaced. An INC or DEC of a register passes CF on and replaces the rest, so when
// its own flags are dead so are the ones before it: it then reads no CF either (its
// forms hold to that), and the scans pass over it as over a neutral instruction.
package dev.lguest.cpu.interpreter;

final class FlagLiveness {
    private FlagLiveness() {
    }

    /** For each instruction, whether the status flags it sets are dead (see above). */
    static boolean[] deadAfter(Instruction[] code, boolean[] jumpTargets) {
        boolean[] dead = new boolean[code.length];
        // Scanning backwards: whether the flags standing before instruction j are dead.
        boolean deadBefore = false; // the block's end: the record goes to the Alu
        for (int j = code.length - 1; j >= 0; j--) {
            Instruction in = code[j];
            dead[j] = deadBefore && !mayStore(in);
            if (jumpTargets[j] || !BlockTranslator.compiles(in)) {
                deadBefore = false;
            } else if (replacesAllFlags(in)) {
                deadBefore = true;
            } else if (!neutral(in) && !incrementsRegister(in)) {
                deadBefore = false;
            }
        }
        return dead;
    }

    /**
     * Whether the flags standing when the code reaches instruction {@code target} (a
     * loop's jump target) are never seen from there: only neutral instructions come
     * before one that replaces them all. A loop's back edge then need not write its
     * flag record into the Alu for the join point: nothing reads the Alu's stale
     * record before it is replaced, on any path. The straight line ends at {@code end}:
     * the block's end, or a region member's (what follows it is elsewhere).
     */
    static boolean deadAt(Instruction[] code, int target, int end) {
        for (int j = target; j < end; j++) {
            Instruction in = code[j];
            if (!BlockTranslator.compiles(in)) {
                return false;
            } else if (replacesAllFlags(in)) {
                return true;
            } else if (!neutral(in) && !incrementsRegister(in)) {
                return false;
            }
        }
        return false;
    }

    /**
     * Which status flags the code from instruction {@code target} (a loop's jump
     * target) may see before they are replaced (a mask of X86 flag bits): deadAt's
     * scan, one flag at a time. An INC or DEC of a register (which cannot fault) passes
     * CF on and replaces the others, so a loop head of INC, then an ADD or a CMP of
     * registers (intloop's sieve: inc %eax; add $2,%edx) sees CF alone: its join point
     * carries CF in a local instead of the whole record (Emitter.FLAGS_CARRY_ONLY).
     * The straight line ends at {@code end}, as for deadAt.
     */
    static int liveAt(Instruction[] code, int target, int end) {
        int undecided = Alu.STATUS;
        for (int j = target; j < end; j++) {
            Instruction in = code[j];
            if (!BlockTranslator.compiles(in)) {
                return undecided;
            } else if (replacesAllFlags(in)) {
                return 0;
            } else if (incrementsRegister(in)) {
                undecided &= dev.lguest.api.cpu.X86.CF;
            } else if (!neutral(in)) {
                return undecided;
            }
        }
        return undecided;
    }

    /**
     * Whether the instruction may store through its ModRM memory operand, which can end
     * the block right after it (see above): every memory form but those known to only
     * read it.
     */
    static boolean mayStore(Instruction in) {
        return in.hasMemoryOperand() && !readsMemoryOnly(in);
    }

    /** A memory form that only reads its operand: ALU into a register, CMP, TEST, IMUL, MUL, DIV, BT. */
    private static boolean readsMemoryOnly(Instruction in) {
        int op = in.opcode;
        if (op < 0x40 && (op & 7) < 4) {
            // The r/m destination forms (00, 01, 08, ...) store, but for CMP (38, 39).
            return (op & 2) != 0 || op >>> 3 == Alu.CMP;
        }
        return switch (op) {
            case 0x80, 0x81, 0x83 -> in.reg == Alu.CMP;
            case 0x84, 0x85, 0x69, 0x6b, 0x1af, 0x1a3, 0x1bc, 0x1bd -> true;
            case 0x1ba -> in.reg == 4; // BT; BTS, BTR and BTC store
            // TEST, MUL, IMUL, DIV, IDIV (NOT and NEG store).
            case 0xf6, 0xf7 -> in.reg <= 1 || in.reg >= 4;
            default -> false;
        };
    }

    /** INC or DEC of a register (40-4F, either operand size): keeps CF, replaces the rest, cannot fault. */
    static boolean incrementsRegister(Instruction in) {
        return in.opcode >= 0x40 && in.opcode <= 0x4f;
    }

    /** Replaces all six status flags, whatever they were, and cannot fault or leave the block. */
    static boolean replacesAllFlags(Instruction in) {
        int op = in.opcode;
        boolean register = in.mod == 3;
        if (op < 0x40 && (op & 7) < 6) {
            int operation = op >>> 3;
            return operation != Alu.ADC && operation != Alu.SBB && (register || (op & 7) >= 4);
        }
        return switch (op) {
            case 0x80, 0x81, 0x83 -> register && in.reg != Alu.ADC && in.reg != Alu.SBB;
            case 0x84, 0x85, 0x69, 0x6b, 0x1af -> register;
            case 0xa8, 0xa9 -> true;
            // Shifts by a constant count other than 0 (rotates keep SF, ZF, AF and PF).
            case 0xc0, 0xc1 -> register && in.reg >= 4 && (in.immediate & 31) != 0;
            case 0xd0, 0xd1 -> register && in.reg >= 4;
            // TEST, NEG, MUL, IMUL (not NOT, nor the divisions: they may fault).
            case 0xf6, 0xf7 -> register && (in.reg <= 1 || in.reg >= 3 && in.reg <= 5);
            default -> false;
        };
    }

    /** Neither reads nor writes the status flags, cannot fault and does not leave the block. */
    static boolean neutral(Instruction in) {
        int op = in.opcode;
        boolean register = in.mod == 3;
        return switch (op) {
            case 0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7, 0x1b6, 0x1b7, 0x1be, 0x1bf -> register;
            case 0x8d, 0x90 -> true;
            case 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
                    0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf -> true;
            case 0xf6, 0xf7 -> register && in.reg == 2;
            default -> false;
        };
    }
}
