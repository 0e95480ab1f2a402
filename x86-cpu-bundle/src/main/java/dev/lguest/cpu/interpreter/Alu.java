// Integer arithmetic with the x86 status flags (CF, PF, AF, ZF, SF, OF). Operand sizes
// are 1, 2 or 4 bytes; values are passed as ints whose bits above the size are ignored.
// Where the manual leaves a flag undefined, the choice made here is the common one of
// real processors.
//
// The flags are lazy for the commonest 32-bit operations (ADD, SUB, CMP, AND, OR, XOR,
// TEST, INC, DEC): compiled code computes flags far more often than it reads them, and
// a read is nearly always one condition of a Jcc right after a CMP or TEST. Such an
// operation only notes what it did (pending, with its result and operands) and the
// flags are worked out when read: a condition straight from the operands (condition),
// all six when anything else wants them (materialize: PUSHF, LAHF, an interrupt,
// saveState, an instruction changing only some flags). Every other operation writes
// the flags eagerly, through setStatus, which also forgets the pending record. The
// rest of EFLAGS (IF, DF, IOPL, ...) always lives in cpu.eflags; its status bits are
// only valid while pending is EAGER, which is what cpu.eflags() guarantees.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.AF;
import static dev.lguest.api.cpu.X86.CF;
import static dev.lguest.api.cpu.X86.OF;
import static dev.lguest.api.cpu.X86.PF;
import static dev.lguest.api.cpu.X86.SF;
import static dev.lguest.api.cpu.X86.ZF;

import dev.lguest.api.cpu.X86;

final class Alu {
    static final int STATUS = CF | PF | AF | ZF | SF | OF;
    static final int ADD = 0, OR = 1, ADC = 2, SBB = 3, AND = 4, SUB = 5, XOR = 6, CMP = 7;

    private static final int[] PARITY = new int[256];
    /** Where each status flag sits in EFLAGS, to move it to bit 0. */
    private static final int CF_BIT = Integer.numberOfTrailingZeros(CF), PF_BIT = Integer.numberOfTrailingZeros(PF),
            ZF_BIT = Integer.numberOfTrailingZeros(ZF), SF_BIT = Integer.numberOfTrailingZeros(SF),
            OF_BIT = Integer.numberOfTrailingZeros(OF);

    static {
        for (int i = 0; i < 256; i++) {
            PARITY[i] = (Integer.bitCount(i) & 1) == 0 ? PF : 0;
        }
    }

    /** What the status flags are waiting on: EAGER (they are in cpu.eflags) or one of the lazy operations. */
    static final int EAGER = 0, LAZY_ADD = 1, LAZY_SUB = 2, LAZY_LOGIC = 3, LAZY_INC = 4, LAZY_DEC = 5;

    private final InterpreterCpu cpu;

    int pending = EAGER;
    /**
     * The last lazy operation's result and operands (for INC and DEC, lastSource holds
     * the CF they leave alone).
     */
    int lastResult, lastDestination, lastSource;

    Alu(InterpreterCpu cpu) {
        this.cpu = cpu;
    }

    static int mask(int size) {
        return size == 4 ? -1 : (1 << (size * 8)) - 1;
    }

    static int signBit(int size) {
        return 1 << (size * 8 - 1);
    }

    /** Sign-extends the low {@code size} bytes. */
    static int signExtend(int value, int size) {
        return size == 4 ? value : size == 2 ? (short) value : (byte) value;
    }

    /** PF, ZF and SF of a result. */
    static int resultFlags(int result, int size) {
        int masked = result & mask(size);
        return PARITY[masked & 0xff] | (masked == 0 ? ZF : 0) | ((masked & signBit(size)) != 0 ? SF : 0);
    }

    /** Replaces all six status flags; whatever was pending is forgotten. */
    void setStatus(int flags) {
        cpu.eflags = (cpu.eflags & ~STATUS) | flags;
        pending = EAGER;
    }

    /** Works out the pending flags into cpu.eflags, so that all of EFLAGS is there. */
    void materialize() {
        if (pending != EAGER) {
            cpu.eflags = (cpu.eflags & ~STATUS) | pendingStatus();
            pending = EAGER;
        }
    }

    /** The six status flags the pending operation produced. */
    private int pendingStatus() {
        return lazyStatus(pending, lastResult, lastDestination, lastSource);
    }

    /** The six status flags of a lazy record (kind, result, operands): what materialize works out. */
    static int lazyStatus(int kind, int result, int dst, int src) {
        return switch (kind) {
            case LAZY_ADD -> addedStatus(result, dst, src);
            case LAZY_SUB -> subtractedStatus(result, dst, src);
            case LAZY_LOGIC -> resultFlags32(result);
            case LAZY_INC -> incrementedStatus(result, dst, src);
            default -> decrementedStatus(result, dst, src);
        };
    }

    /**
     * lazyStatus of each kind on its own, named by LAZY_STATUS_FORMS for compiled code,
     * which knows the kind when it is made. Called through lazyStatus with the kind a
     * constant, HotSpot still pruned the switch's cases the interpreter's profile had not
     * seen and trapped on the constant's own case, which threw the translation away.
     */
    static int addedStatus(int result, int dst, int src) {
        return resultFlags32(result) | (Integer.compareUnsigned(result, dst) < 0 ? CF : 0)
                | (((dst ^ result) & (src ^ result)) < 0 ? OF : 0) | ((dst ^ src ^ result) & AF);
    }

    static int subtractedStatus(int result, int dst, int src) {
        return resultFlags32(result) | (Integer.compareUnsigned(dst, src) < 0 ? CF : 0)
                | (((dst ^ src) & (dst ^ result)) < 0 ? OF : 0) | ((dst ^ src ^ result) & AF);
    }

    static int logicStatus(int result, int dst, int src) {
        return resultFlags32(result);
    }

    /** INC and DEC keep CF, which the record holds in {@code src}. */
    static int incrementedStatus(int result, int dst, int src) {
        return resultFlags32(result) | ((dst ^ result) & AF) | (result == Integer.MIN_VALUE ? OF : 0) | src;
    }

    static int decrementedStatus(int result, int dst, int src) {
        return resultFlags32(result) | ((dst ^ result) & AF) | (result == Integer.MAX_VALUE ? OF : 0) | src;
    }

    /** The method of each lazy kind (LAZY_ADD to LAZY_DEC) taking (result, dst, src). */
    static final String[] LAZY_STATUS_FORMS =
            {null, "addedStatus", "subtractedStatus", "logicStatus", "incrementedStatus", "decrementedStatus"};

    /** CF as it stands, without working out the other flags. */
    int carry() {
        return switch (pending) {
            case EAGER -> cpu.eflags & CF;
            case LAZY_ADD -> Integer.compareUnsigned(lastResult, lastDestination) < 0 ? CF : 0;
            case LAZY_SUB -> Integer.compareUnsigned(lastDestination, lastSource) < 0 ? CF : 0;
            case LAZY_LOGIC -> 0;
            default -> lastSource;
        };
    }

    /**
     * Condition code cc (the low nibble of Jcc, SETcc, CMOVcc) as it stands. After a
     * CMP, SUB or logic operation it comes from the operands, as the compiler that
     * wrote the CMP/Jcc pair meant it; ZF and SF of any lazy operation come from the result.
     */
    boolean condition(int cc) {
        return switch (pending) {
            case EAGER -> condition(cc, cpu.eflags);
            case LAZY_SUB -> subtractCondition(cc, lastDestination, lastSource, lastResult);
            case LAZY_LOGIC -> logicCondition(cc, lastResult);
            default -> otherCondition(cc);
        };
    }

    /** A condition after dst - src = result (SUB, CMP): the compare the compiler meant. */
    private static boolean subtractCondition(int cc, int dst, int src, int result) {
        int overflow = ((dst ^ src) & (dst ^ result)) >>> 31;
        int below = (int) (((dst & 0xffffffffL) - (src & 0xffffffffL)) >>> 63);
        int equal = isZero(dst ^ src);
        int less = (int) (((long) dst - (long) src) >>> 63);
        return holds(cc, overflow, below, isZero(result), below | equal, result >>> 31,
                PARITY[result & 0xff] >>> PF_BIT, less, less | equal);
    }

    /** A condition after AND, OR, XOR or TEST: OF and CF are clear. */
    private static boolean logicCondition(int cc, int result) {
        int zero = isZero(result), sign = result >>> 31;
        return holds(cc, 0, 0, zero, zero, sign, PARITY[result & 0xff] >>> PF_BIT, sign, sign | zero);
    }

    /** 1 if value is zero, else 0, without a branch. */
    private static int isZero(int value) {
        return ((value | -value) >>> 31) ^ 1;
    }

    /**
     * Condition cc from the truth (bit 0 of each argument) of the eight it can test,
     * in the order of the Jcc opcodes (O, B, E, BE, S, P, L, LE); an odd cc is the
     * negation. A bit picked from a table, not a switch: HotSpot compiles a switch for
     * the cases seen so far and throws the compiled code away (an uncommon trap) each
     * time the guest runs a branch of another kind.
     */
    private static boolean holds(int cc, int o, int b, int e, int be, int s, int p, int l, int le) {
        int table = (o & 1) | (b & 1) << 1 | (e & 1) << 2 | (be & 1) << 3
                | (s & 1) << 4 | (p & 1) << 5 | (l & 1) << 6 | (le & 1) << 7;
        return (((table >>> (cc >>> 1)) ^ cc) & 1) != 0;
    }

    /** After ADD, INC or DEC: ZF and SF straight from the result, the rest worked out. */
    private boolean otherCondition(int cc) {
        int kind = cc >>> 1;
        if (kind == 2) {
            return (lastResult == 0) ^ ((cc & 1) != 0);
        }
        if (kind == 4) {
            return (lastResult < 0) ^ ((cc & 1) != 0);
        }
        materialize();
        return condition(cc, cpu.eflags);
    }

    /** The eight classic ALU operations of opcodes 00-3F and 80-83; CMP returns dst unchanged. */
    int arith(int op, int dst, int src, int size) {
        return switch (op) {
            case ADD -> add(dst, src, 0, size);
            case OR -> logic(dst | src, size);
            case ADC -> add(dst, src, carry(), size);
            case SBB -> sub(dst, src, carry(), size);
            case AND -> logic(dst & src, size);
            case SUB -> sub(dst, src, 0, size);
            case XOR -> logic(dst ^ src, size);
            default -> {
                sub(dst, src, 0, size);
                yield dst;
            }
        };
    }

    int add(int dst, int src, int carryIn, int size) {
        setStatus(addStatus(dst, src, carryIn, size));
        return (dst + src + carryIn) & mask(size);
    }

    /** The six status flags of dst + src + carryIn on {@code size} bytes (ADD, ADC, INC). */
    static int addStatus(int dst, int src, int carryIn, int size) {
        int m = mask(size);
        long sum = (dst & m & 0xffffffffL) + (src & m & 0xffffffffL) + carryIn;
        int result = (int) sum & m;
        int flags = resultFlags(result, size);
        if ((sum >>> (size * 8)) != 0) {
            flags |= CF;
        }
        if (((dst ^ result) & (src ^ result) & signBit(size)) != 0) {
            flags |= OF;
        }
        return flags | ((dst ^ src ^ result) & AF);
    }

    int sub(int dst, int src, int borrowIn, int size) {
        setStatus(subStatus(dst, src, borrowIn, size));
        return (dst - src - borrowIn) & mask(size);
    }

    /** The six status flags of dst - src - borrowIn on {@code size} bytes (SUB, SBB, CMP, DEC, NEG). */
    static int subStatus(int dst, int src, int borrowIn, int size) {
        int m = mask(size);
        long a = dst & m & 0xffffffffL, b = src & m & 0xffffffffL;
        int result = (int) (a - b - borrowIn) & m;
        int flags = resultFlags(result, size);
        if (a < b + borrowIn) {
            flags |= CF;
        }
        if (((dst ^ src) & (dst ^ result) & signBit(size)) != 0) {
            flags |= OF;
        }
        return flags | ((dst ^ src ^ result) & AF);
    }

    int logic(int result, int size) {
        result &= mask(size);
        setStatus(resultFlags(result, size));
        return result;
    }

    /** INC and DEC leave CF alone. */
    int increment(int value, int delta, int size) {
        int carry = carry();
        int result = delta > 0 ? add(value, 1, 0, size) : sub(value, 1, 0, size);
        cpu.eflags = (cpu.eflags & ~CF) | carry;
        return result;
    }

    int negate(int value, int size) {
        return sub(0, value, 0, size);
    }

    // ---- 32-bit forms of the hot operations, for the executor's fast handlers ----

    /** ADD, OR, AND, SUB, XOR or CMP on 32 bits (ADC and SBB go through arith), with lazy flags. */
    int arith32(int op, int dst, int src) {
        int result;
        switch (op) {
            case ADD -> {
                result = dst + src;
                pending = LAZY_ADD;
            }
            case SUB, CMP -> {
                result = dst - src;
                pending = LAZY_SUB;
            }
            case OR -> {
                result = dst | src;
                pending = LAZY_LOGIC;
            }
            case AND -> {
                result = dst & src;
                pending = LAZY_LOGIC;
            }
            case XOR -> {
                result = dst ^ src;
                pending = LAZY_LOGIC;
            }
            default -> {
                return arith(op, dst, src, 4);
            }
        }
        lastResult = result;
        lastDestination = dst;
        lastSource = src;
        return op == CMP ? dst : result;
    }

    /** INC (delta 1) or DEC (delta -1) on 32 bits, with lazy flags: CF is left alone. */
    int increment32(int value, int delta) {
        int result = value + delta;
        lastSource = carry();
        lastResult = result;
        lastDestination = value;
        pending = delta > 0 ? LAZY_INC : LAZY_DEC;
        return result;
    }

    static int resultFlags32(int result) {
        return PARITY[result & 0xff] | (result == 0 ? ZF : 0) | ((result >>> 31) << 7);
    }

    // ---- shifts and rotates (group 2: reg field 0-7 = ROL ROR RCL RCR SHL SHR SAL SAR) ----

    int shift(int op, int value, int count, int size) {
        count &= 31;
        if (count == 0) {
            return value & mask(size);
        }
        materialize(); // rotates keep SF, ZF, AF and PF
        long packed = shifted(op, value, count, size, cpu.eflags & STATUS);
        cpu.eflags = (cpu.eflags & ~STATUS) | (int) (packed >>> 32);
        return (int) packed;
    }

    /**
     * A shift or rotate as a pure function: the result in the low half, the six status
     * flags after it in the high half, given those before it ({@code status}). A count
     * of 0 (after masking to 5 bits) changes nothing. Compiled code calls this directly.
     */
    static long shifted(int op, int value, int count, int size, int status) {
        count &= 31;
        if (count == 0) {
            return packed(value & mask(size), status);
        }
        return shiftedNonZero(op, value, count, size, status);
    }

    /**
     * shifted for a count known only when the code runs (CL), for compiled code: a count
     * of 0 keeps the value and the flags, chosen by a mask rather than a branch. This
     * method's profile is shared by every translation, and the interpreter's shift()
     * never passes a count of 0, so a branch here would be compiled as never taken and
     * trap, throwing away the translation that first shifts by CL = 0 (Linux's inflate,
     * once per boot) to be compiled again.
     */
    static long shiftedByVariableCount(int op, int value, int count, int size, int status) {
        count &= 31;
        long keep = (count - 1) >> 31; // all ones for a count of 0, else 0
        long moved = shiftedNonZero(op, value, count | (int) (keep & 1), size, status);
        return (moved & ~keep) | (packed(value & mask(size), status) & keep);
    }

    /** The shift or rotate by a count of 1-31. */
    private static long shiftedNonZero(int op, int value, int count, int size, int status) {
        return switch (op) {
            case 0, 1 -> rotated(op == 0, value, count, size, status);
            case 2, 3 -> rotatedThroughCarry(op == 2, value, count, size, status);
            case 4, 6 -> shiftedLeft(value, count, size);
            case 5 -> shiftedRight(value, count, size);
            default -> shiftedArithmetic(value, count, size);
        };
    }

    private static long packed(int result, int status) {
        return (result & 0xffffffffL) | ((long) status << 32);
    }

    /** ROL, ROR: only CF and OF change. */
    private static long rotated(boolean left, int value, int count, int size, int status) {
        int bits = size * 8;
        int m = mask(size);
        int v = value & m;
        int n = count % bits;
        int result;
        int flags;
        if (left) {
            result = n == 0 ? v : ((v << n) | (v >>> (bits - n))) & m;
            boolean cf = (result & 1) != 0;
            boolean of = ((result & signBit(size)) != 0) ^ cf;
            flags = (status & ~(CF | OF)) | (cf ? CF : 0) | (of ? OF : 0);
        } else {
            result = n == 0 ? v : ((v >>> n) | (v << (bits - n))) & m;
            boolean msb = (result & signBit(size)) != 0;
            boolean next = (result & (signBit(size) >>> 1)) != 0;
            flags = (status & ~(CF | OF)) | (msb ? CF : 0) | (msb ^ next ? OF : 0);
        }
        return packed(result, flags);
    }

    /** RCL, RCR through the carry: a rotate of bits + 1 bits. */
    private static long rotatedThroughCarry(boolean left, int value, int count, int size, int status) {
        int bits = size * 8;
        int m = mask(size);
        int v = value & m;
        int n = count % (bits + 1);
        long wide = (v & 0xffffffffL) | ((long) (status & CF) << bits);
        long wideMask = (1L << (bits + 1)) - 1;
        if (left) {
            wide = n == 0 ? wide : ((wide << n) | (wide >>> (bits + 1 - n))) & wideMask;
        } else {
            wide = n == 0 ? wide : ((wide >>> n) | (wide << (bits + 1 - n))) & wideMask;
        }
        int result = (int) wide & m;
        boolean cf = ((wide >>> bits) & 1) != 0;
        boolean msb = (result & signBit(size)) != 0;
        boolean of = left ? msb ^ cf : msb ^ ((result & (signBit(size) >>> 1)) != 0);
        return packed(result, (status & ~(CF | OF)) | (cf ? CF : 0) | (of ? OF : 0));
    }

    /** SHL/SAL: AF is left clear. */
    private static long shiftedLeft(int value, int count, int size) {
        int bits = size * 8;
        long wide = (value & mask(size) & 0xffffffffL) << count;
        int result = (int) wide & mask(size);
        boolean cf = ((wide >>> bits) & 1) != 0;
        boolean of = ((result & signBit(size)) != 0) ^ cf;
        return packed(result, resultFlags(result, size) | (cf ? CF : 0) | (of ? OF : 0));
    }

    private static long shiftedRight(int value, int count, int size) {
        int v = value & mask(size);
        long wide = v & 0xffffffffL;
        int result = (int) (wide >>> count) & mask(size);
        boolean cf = ((wide >>> (count - 1)) & 1) != 0;
        boolean of = (v & signBit(size)) != 0;
        return packed(result, resultFlags(result, size) | (cf ? CF : 0) | (of ? OF : 0));
    }

    private static long shiftedArithmetic(int value, int count, int size) {
        int signed = signExtend(value, size);
        int result = (signed >> Math.min(count, 31)) & mask(size);
        boolean cf = ((signed >> Math.min(count - 1, 31)) & 1) != 0;
        return packed(result, resultFlags(result, size) | (cf ? CF : 0));
    }

    /** SHLD (left) and SHRD: shift dst, filling from src. */
    int doubleShift(boolean left, int dst, int src, int count, int size) {
        if ((count & 31) == 0) {
            return dst & mask(size);
        }
        long packed = doubleShifted(left, dst, src, count, size, 0);
        setStatus((int) (packed >>> 32));
        return (int) packed;
    }

    /** SHLD/SHRD as a pure function, packed as shifted's: a count of 0 changes nothing. */
    static long doubleShifted(boolean left, int dst, int src, int count, int size, int status) {
        count &= 31;
        int m = mask(size);
        if (count == 0) {
            return packed(dst & m, status);
        }
        long result;
        boolean cf;
        if (size == 4) {
            long pair = left ? ((dst & 0xffffffffL) << 32) | (src & 0xffffffffL)
                    : ((src & 0xffffffffL) << 32) | (dst & 0xffffffffL);
            if (left) {
                result = (pair << count) >>> 32;
                cf = ((pair >>> (64 - count)) & 1) != 0;
            } else {
                result = pair >>> count;
                cf = ((pair >>> (count - 1)) & 1) != 0;
            }
        } else {
            // 16-bit: the manual leaves counts above 16 undefined. An Intel P6 shifts
            // the 48 bits dst:src:dst, so past 16 the destination's own bits come in
            // again after the source's (QEMU and Bochs do the same); up to 16 this is
            // the plain dst:src (SHLD) or src:dst (SHRD) shift.
            long d = dst & 0xffffL;
            long triple = (d << 32) | ((src & 0xffffL) << 16) | d;
            if (left) {
                result = triple >>> (32 - count);
                cf = ((triple >>> (48 - count)) & 1) != 0;
            } else {
                result = triple >>> count;
                cf = ((triple >>> (count - 1)) & 1) != 0;
            }
        }
        int r = (int) result & m;
        boolean of = ((r ^ dst) & signBit(size)) != 0;
        return packed(r, resultFlags(r, size) | (cf ? CF : 0) | (of ? OF : 0));
    }

    /** Sets CF and OF together, as the multiplies do, leaving SF/ZF/PF from the low result. */
    void multiplyFlags(int low, int size, boolean overflow) {
        setStatus(resultFlags(low, size) | (overflow ? CF | OF : 0));
    }

    /**
     * MUL and one-operand IMUL as a pure function: the accumulator's low {@code size}
     * bytes times the operand's, the whole product (16 bits for bytes, 32 for words, 64).
     */
    static long multiplied(int accumulator, int source, int size, boolean signed) {
        return switch (size) {
            case 1 -> signed ? (byte) accumulator * (byte) source : (accumulator & 0xff) * (source & 0xff);
            case 2 -> signed ? (short) accumulator * (short) source : (accumulator & 0xffff) * (source & 0xffff);
            default -> signed ? (long) accumulator * source : (accumulator & 0xffffffffL) * (source & 0xffffffffL);
        };
    }

    /** The flags MUL and one-operand IMUL leave: CF=OF when the product needs its upper half. */
    static int multiplyStatus(long product, int size, boolean signed) {
        boolean overflow = switch (size) {
            case 1 -> signed ? product != (byte) product : (product & 0xff00) != 0;
            case 2 -> signed ? product != (short) product : (product & 0xffff0000L) != 0;
            default -> signed ? product != (int) product : (product >>> 32) != 0;
        };
        return resultFlags((int) product, size) | (overflow ? CF | OF : 0);
    }

    /**
     * Two- and three-operand IMUL as a pure function: the truncated product in the low
     * half, the flags in the high half (CF=OF when the product did not fit).
     */
    static long multipliedSigned(int a, int b, int size) {
        long product = (long) signExtend(a, size) * signExtend(b, size);
        int result = (int) product & mask(size);
        boolean overflow = product != signExtend((int) product, size);
        return packed(result, resultFlags(result, size) | (overflow ? CF | OF : 0));
    }

    /**
     * DIV and IDIV as a pure function: (E)DX:(E)AX, or AX for bytes, divided by the
     * operand; the quotient in the low half, the remainder in the high half. A zero
     * divisor or a quotient too big for its register raises #DE before anything changes.
     */
    static long divided(int edx, int eax, int divisorValue, int size, boolean signed) {
        long quotient, remainder;
        switch (size) {
            case 1 -> {
                int dividend = eax & 0xffff;
                int divisor = signed ? (byte) divisorValue : divisorValue & 0xff;
                if (divisor == 0) {
                    throw CpuFault.of(X86.DE, 0);
                }
                if (signed) {
                    quotient = (short) dividend / divisor;
                    remainder = (short) dividend % divisor;
                    if (quotient != (byte) quotient) {
                        throw CpuFault.of(X86.DE, 0);
                    }
                } else {
                    quotient = dividend / divisor;
                    remainder = dividend % divisor;
                    if (quotient > 0xff) {
                        throw CpuFault.of(X86.DE, 0);
                    }
                }
            }
            case 2 -> {
                int dividend = ((edx & 0xffff) << 16) | (eax & 0xffff);
                int divisor = signed ? (short) divisorValue : divisorValue & 0xffff;
                if (divisor == 0) {
                    throw CpuFault.of(X86.DE, 0);
                }
                if (signed) {
                    quotient = (long) dividend / divisor;
                    remainder = (long) dividend % divisor;
                    if (quotient != (short) quotient) {
                        throw CpuFault.of(X86.DE, 0);
                    }
                } else {
                    long unsignedDividend = dividend & 0xffffffffL;
                    quotient = unsignedDividend / divisor;
                    remainder = unsignedDividend % divisor;
                    if (quotient > 0xffff) {
                        throw CpuFault.of(X86.DE, 0);
                    }
                }
            }
            default -> {
                long dividend = ((long) edx << 32) | (eax & 0xffffffffL);
                if (divisorValue == 0) {
                    throw CpuFault.of(X86.DE, 0);
                }
                if (signed) {
                    if (dividend == Long.MIN_VALUE && divisorValue == -1) {
                        throw CpuFault.of(X86.DE, 0);
                    }
                    quotient = dividend / divisorValue;
                    remainder = dividend % divisorValue;
                    if (quotient != (int) quotient) {
                        throw CpuFault.of(X86.DE, 0);
                    }
                } else {
                    return dividedUnsigned32(edx, eax, divisorValue);
                }
            }
        }
        return (quotient & 0xffffffffL) | (remainder << 32);
    }

    /**
     * DIV of EDX:EAX by a doubleword, packed as divided's: its commonest case, alone so
     * that HotSpot inlines it into a big compiled block (divided, all sizes and signs,
     * is too large to be). #DE for a divisor of 0 or a quotient beyond 32 bits, which
     * is EDX at or above the divisor.
     */
    static long dividedUnsigned32(int edx, int eax, int divisor) {
        if (divisor == 0 || Integer.compareUnsigned(edx, divisor) >= 0) {
            throw CpuFault.of(X86.DE, 0);
        }
        if (edx == 0) {
            return (Integer.divideUnsigned(eax, divisor) & 0xffffffffL)
                    | ((long) Integer.remainderUnsigned(eax, divisor) << 32);
        }
        long dividend = ((long) edx << 32) | (eax & 0xffffffffL);
        long wide = divisor & 0xffffffffL;
        long quotient = Long.divideUnsigned(dividend, wide);
        return (quotient & 0xffffffffL) | ((dividend - quotient * wide) << 32);
    }

    static boolean condition(int cc, int eflags) {
        int overflow = eflags >>> OF_BIT, carry = eflags >>> CF_BIT, zero = eflags >>> ZF_BIT,
                sign = eflags >>> SF_BIT;
        int less = sign ^ overflow;
        return holds(cc, overflow, carry, zero, carry | zero, sign, eflags >>> PF_BIT, less, less | zero);
    }
}
