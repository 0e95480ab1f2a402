// One decoded instruction: prefixes, opcode, ModRM fields, the memory operand's parts
// and the immediates. The decoder fills it in and the interpreter reads it; it holds
// no machine state, so a translator can decode once and generate code from it.
//
// The small fields are bytes and shorts, read as ints as before: a cached block keeps
// one of these per instruction decoded, and code that runs rarely finds them outside
// the processor's caches (a fork, exec and wait in Linux runs about 4,000 interpreted
// blocks of the kernel's, most of them once since the last round): 48 bytes an
// instruction instead of 88 is nearly half the cache lines to fetch for each one.
// (48, not 56: the second immediate of a far pointer or of ENTER lives in the
// displacement field, which those instructions, with neither ModRM nor moffs, leave
// unused; HotSpot rounds an object up to 8 bytes, and 52 would have been 56.)
package dev.lguest.cpu.interpreter;

final class Instruction {
    /** EIP of the first byte (prefixes included) and of the following instruction. */
    int start, next;
    /** 0x00-0xFF for the one-byte map, 0x100-0x1FF for 0F xx. */
    short opcode;
    /** OpcodeTable's flags (bits 0-9). */
    short flags;
    boolean operand32, address32;
    /** A segment override (Segments.ES...), or -1. */
    byte segmentOverride;
    /** 0, 0xF2 (REPNE) or 0xF3 (REP/REPE), the prefix byte kept as a signed byte: compare through repeat(). */
    byte repeat;
    boolean lock;

    /** ModRM fields; mod == 3 names a register. */
    byte mod, reg, rm;
    /** Memory operand: base and index registers (-1 for none), scale shift, displacement. */
    byte base, index, scale;
    int displacement;
    /** The segment the memory operand uses unless overridden (DS, or SS for EBP/ESP bases). */
    byte defaultSegment;

    int immediate;

    /**
     * The interpreter's dispatch hint, filled in by Executor.classify: a specialised
     * handler for the commonest forms, or 0 for the general path. Not part of the
     * description of the instruction; a translator may ignore it.
     */
    byte handler;

    /** The second immediate: a far pointer's selector (9A, EA), ENTER's nesting level (C8). */
    int immediate2() {
        return displacement;
    }

    /** 0, 0xF2 or 0xF3: the repeat prefix. */
    int repeat() {
        return repeat & 0xff;
    }

    boolean hasMemoryOperand() {
        return (flags & OpcodeTable.MODRM) != 0 && mod != 3;
    }

    int operandSize() {
        return operand32 ? 4 : 2;
    }

    /** The segment used for the memory operand. */
    int segment() {
        return segmentOverride >= 0 ? segmentOverride : defaultSegment;
    }

    int length() {
        return next - start;
    }
}
