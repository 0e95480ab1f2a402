// The x87 instructions compiled floating-point code spends its time in (the arithmetic
// on registers and on m32/m64/m16int/m32int operands, FLD, FST, FIST, FILD, FXCH, FCHS,
// FABS, the constants, FSQRT, the compares and FNSTSW AX) done on primitives when their
// operands are the ordinary case: registers present, numbers normal or zero, results
// normal, no stack overflow. Each method answers false before it changes anything when
// the case is not that, and X87's general code (Float80 values, Float80.Env) runs the
// instruction instead; when it answers true, the FPU image, memory and EFLAGS are
// exactly what the general code leaves (X87FastPathTest holds one against the other on
// random states and operands). X87.run (behind execute and executeCompiled) still does
// what every instruction shares: the #NM and #MF checks before, the FPU pointers and
// the tag word after.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.X87.C0;
import static dev.lguest.cpu.interpreter.X87.C1;
import static dev.lguest.cpu.interpreter.X87.C2;
import static dev.lguest.cpu.interpreter.X87.C3;

import dev.lguest.api.cpu.X86;

final class X87FastForms {
    private final X87 x87;
    private final FastFloat80 f = new FastFloat80();

    X87FastForms(X87 x87) {
        this.x87 = x87;
    }

    /** A register form (mod 3), if it is a common case. */
    boolean register(int form) {
        Instruction in = x87.in;
        int i = in.rm;
        return switch (form) {
            case X87.R_ARITH_ST0 -> arithmetic(0, i, in.reg, false, 0);
            case X87.R_ARITH_STI -> arithmetic(i, 0, in.reg, true, 0);
            case X87.R_ARITH_STI_POP -> arithmetic(i, 0, in.reg, true, 1);
            case X87.R_FCOM -> compare(i, 0, false);
            case X87.R_FCOMP, X87.R_FUCOMP -> compare(i, 1, false);
            case X87.R_FUCOM -> compare(i, 0, false);
            case X87.R_FCOMPP, X87.R_FUCOMPP -> compare(1, 2, false);
            case X87.R_FCOMI, X87.R_FUCOMI -> compare(i, 0, true);
            case X87.R_FCOMIP, X87.R_FUCOMIP -> compare(i, 1, true);
            case X87.R_FLD -> load(i);
            case X87.R_FXCH -> exchange(i);
            case X87.R_FST -> storeRegister(i, 0);
            case X87.R_FSTP -> storeRegister(i, 1);
            case X87.R_FCHS, X87.R_FABS -> changeSign(form == X87.R_FCHS);
            case X87.R_CONST -> in.rm == 0 || in.rm == 6 ? loadExactConstant(in.rm == 0) : false;
            case X87.R_FSQRT -> squareRoot();
            case X87.R_FNSTSW_AX -> {
                x87.cpu.setReg(X86.EAX, 2, x87.status());
                yield true;
            }
            default -> false;
        };
    }

    /** A memory form, if it is a common case. */
    boolean memory(int form) {
        return switch (form) {
            case X87.M_ARITH32 -> arithmeticWithFloat(4);
            case X87.M_ARITH64 -> arithmeticWithFloat(8);
            case X87.M_IARITH16 -> arithmeticWithInteger(2);
            case X87.M_IARITH32 -> arithmeticWithInteger(4);
            case X87.M_FLD32 -> loadFloat(4);
            case X87.M_FLD64 -> loadFloat(8);
            case X87.M_FILD16 -> loadInteger(2);
            case X87.M_FILD32 -> loadInteger(4);
            case X87.M_FILD64 -> loadInteger(8);
            case X87.M_FST32 -> storeFloat(4, false);
            case X87.M_FSTP32 -> storeFloat(4, true);
            case X87.M_FST64 -> storeFloat(8, false);
            case X87.M_FSTP64 -> storeFloat(8, true);
            case X87.M_FIST16 -> storeInteger(2, false);
            case X87.M_FIST32 -> storeInteger(4, false);
            case X87.M_FISTP16 -> storeInteger(2, true);
            case X87.M_FISTP32 -> storeInteger(4, true);
            case X87.M_FISTP64 -> storeInteger(8, true);
            default -> false;
        };
    }

    // ---- the end every form shares ----

    /** C1 is the rounding direction; the flags raised (PE at most) and ES/B summarized. */
    private void finish(int flags, boolean roundedUp) {
        x87.setC1AndRaise(roundedUp, flags);
    }

    // ---- register forms ----

    /** The arithmetic group by the reg field (0 ADD, 1 MUL, 4/5 SUB/SUBR, 6/7 DIV/DIVR), as X87.arithmetic. */
    private boolean arithmetic(int dest, int src, int reg, boolean toSti, int pops) {
        if (x87.empty(dest) || x87.empty(src)) {
            return false;
        }
        boolean reversed = (reg == 5 || reg == 7) != toSti;
        if (!operate(reg, x87.se(dest), x87.significand(dest), x87.se(src), x87.significand(src), reversed)) {
            return false;
        }
        x87.setSt(dest, f.se, f.m);
        for (int k = 0; k < pops; k++) {
            x87.pop();
        }
        finish(f.flags, f.roundedUp);
        return true;
    }

    /** dest op src (src op dest when reversed) into f, as X87.operate. */
    private boolean operate(int reg, int seDest, long mDest, int seSrc, long mSrc, boolean reversed) {
        int seA = reversed ? seSrc : seDest, seB = reversed ? seDest : seSrc;
        long mA = reversed ? mSrc : mDest, mB = reversed ? mDest : mSrc;
        int control = x87.control();
        return switch (reg) {
            case 0 -> f.add(control, seA, mA, seB, mB, false);
            case 1 -> f.multiply(control, seA, mA, seB, mB);
            case 4, 5 -> f.add(control, seA, mA, seB, mB, true);
            default -> f.divide(control, seA, mA, seB, mB);
        };
    }

    /**
     * FCOM/FUCOM (C3, C2, C0) or FCOMI/FUCOMI (ZF, PF, CF) of ST(0) with ST(i), popping
     * {@code pops} times: between zeros, normal numbers and infinities, where the
     * ordered and unordered forms do the same, as X87.compare and finishCompare.
     */
    private boolean compare(int i, int pops, boolean eflags) {
        if (x87.empty(0) || x87.empty(i)) {
            return false;
        }
        int result = FastFloat80.compare(x87.se(0), x87.significand(0), x87.se(i), x87.significand(i));
        if (result == 2) {
            return false;
        }
        finishCompare(result, pops, eflags);
        return true;
    }

    private void finishCompare(int result, int pops, boolean eflags) {
        InterpreterCpu cpu = x87.cpu;
        if (eflags) {
            int f = result < 0 ? X86.CF : result == 0 ? X86.ZF : 0;
            cpu.eflags = (cpu.eflags & ~(X86.CF | X86.PF | X86.AF | X86.ZF | X86.SF | X86.OF)) | f;
        } else {
            x87.setConditions(C3 | C2 | C0, result < 0 ? C0 : result == 0 ? C3 : 0);
        }
        for (int k = 0; k < pops; k++) {
            x87.pop();
        }
        // FCOMI and FUCOMI leave C1 alone when nothing underflowed; the older compares clear it.
        if (eflags) {
            x87.raise(0);
        } else {
            finish(0, false);
        }
    }

    /** FLD ST(i): a copy of whatever it holds, pushed. */
    private boolean load(int i) {
        if (x87.empty(i) || !x87.empty(7)) {
            return false;
        }
        x87.push(x87.se(i), x87.significand(i));
        finish(0, false);
        return true;
    }

    private boolean exchange(int i) {
        if (x87.empty(0) || x87.empty(i)) {
            return false;
        }
        int se0 = x87.se(0), seI = x87.se(i);
        long m0 = x87.significand(0), mI = x87.significand(i);
        x87.setSt(0, seI, mI);
        x87.setSt(i, se0, m0);
        finish(0, false);
        return true;
    }

    /** FST/FSTP ST(i): a plain copy of ST(0), no rounding. */
    private boolean storeRegister(int i, int pops) {
        if (x87.empty(0)) {
            return false;
        }
        x87.setSt(i, x87.se(0), x87.significand(0));
        for (int k = 0; k < pops; k++) {
            x87.pop();
        }
        finish(0, false);
        return true;
    }

    /** FCHS and FABS: the sign bit only, whatever the value. */
    private boolean changeSign(boolean negate) {
        if (x87.empty(0)) {
            return false;
        }
        int se = x87.se(0);
        x87.setSt(0, negate ? se ^ 0x8000 : se & 0x7fff, x87.significand(0));
        finish(0, false);
        return true;
    }

    /** FLD1 and FLDZ, which no rounding control changes. */
    private boolean loadExactConstant(boolean one) {
        if (!x87.empty(7)) {
            return false;
        }
        x87.push(one ? 0x3fff : 0, one ? FastFloat80.INTEGER_BIT : 0);
        finish(0, false);
        return true;
    }

    private boolean squareRoot() {
        if (x87.empty(0) || !f.sqrt(x87.control(), x87.se(0), x87.significand(0))) {
            return false;
        }
        x87.setSt(0, f.se, f.m);
        finish(f.flags, f.roundedUp);
        return true;
    }

    // ---- memory forms ----

    /** D8 and DC with a memory operand: ST(0) op m32/m64, or FCOM/FCOMP with it (reg 2, 3). */
    private boolean arithmeticWithFloat(int size) {
        long bits = x87.readMemory(size);
        int seSrc;
        long mSrc;
        if (!f.fromIeee(bits, size)) {
            return false;
        }
        seSrc = f.se;
        mSrc = f.m;
        return arithmeticWithMemory(seSrc, mSrc);
    }

    /** DA and DE with a memory operand: ST(0) op m32int/m16int, or FICOM/FICOMP. */
    private boolean arithmeticWithInteger(int size) {
        long raw = x87.readMemory(size);
        f.fromLong(size == 2 ? (short) raw : (int) raw);
        return arithmeticWithMemory(f.se, f.m);
    }

    private boolean arithmeticWithMemory(int seSrc, long mSrc) {
        if (x87.empty(0)) {
            return false;
        }
        int reg = x87.in.reg;
        if (reg == 2 || reg == 3) {
            int result = FastFloat80.compare(x87.se(0), x87.significand(0), seSrc, mSrc);
            if (result == 2) {
                return false;
            }
            finishCompare(result, reg - 2, false);
            return true;
        }
        if (!operate(reg, x87.se(0), x87.significand(0), seSrc, mSrc, reg == 5 || reg == 7)) {
            return false;
        }
        x87.setSt(0, f.se, f.m);
        finish(f.flags, f.roundedUp);
        return true;
    }

    /** FLD m32/m64 of a normal number or zero: exact. */
    private boolean loadFloat(int size) {
        long bits = x87.readMemory(size);
        if (!x87.empty(7) || !f.fromIeee(bits, size)) {
            return false;
        }
        x87.push(f.se, f.m);
        finish(0, false);
        return true;
    }

    /** FILD m16/m32/m64: always exact. */
    private boolean loadInteger(int size) {
        long raw = x87.readMemory(size);
        if (!x87.empty(7)) {
            return false;
        }
        f.fromLong(size == 2 ? (short) raw : size == 4 ? (int) raw : raw);
        x87.push(f.se, f.m);
        finish(0, false);
        return true;
    }

    /** FST/FSTP m32/m64 of a zero or a normal number that stays normal in the format. */
    private boolean storeFloat(int size, boolean pop) {
        if (x87.empty(0) || !f.toIeee(x87.control(), x87.se(0), x87.significand(0), size)) {
            return false;
        }
        x87.writeLong(f.ieeeBits, size);
        if (pop) {
            x87.pop();
        }
        finish(f.flags, f.roundedUp);
        return true;
    }

    /** FIST/FISTP of a zero or a normal number whose rounded value fits the integer. */
    private boolean storeInteger(int size, boolean pop) {
        if (x87.empty(0)
                || !f.toInteger(x87.se(0), x87.significand(0), size * 8, (x87.control() >>> 10) & 3)) {
            return false;
        }
        x87.writeLong(f.integer, size);
        if (pop) {
            x87.pop();
        }
        finish(f.flags, f.roundedUp);
        return true;
    }
}
