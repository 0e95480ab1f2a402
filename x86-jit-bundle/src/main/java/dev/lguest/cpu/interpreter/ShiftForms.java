// The shifts and rotates of group 2 (C0, C1, D0-D3: ROL ROR RCL RCR SHL SHR SAL SAR,
// bytes, words and doublewords, registers and memory) and SHLD/SHRD (0F A4/A5/AC/AD),
// compiled. The value and the flags come from the interpreter's own pure functions
// (Alu.shifted, Alu.doubleShifted), which HotSpot inlines with the operation and, for
// an immediate count, the count known: the flags are eager, in the block's FLAGS local,
// so a Jcc after a shift is one test of that local. Rotates keep SF, ZF, AF and PF and
// a count of 0 changes nothing, so those read the flags as they stand first; a shift
// by a constant non-zero count replaces all six and reads nothing.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.BlockTranslator.CD_ALU;
import static java.lang.constant.ConstantDescs.CD_boolean;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;

import dev.lguest.api.cpu.X86;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;

final class ShiftForms {
    private ShiftForms() {
    }

    private static final MethodTypeDesc MTD_SHIFTED =
            MethodTypeDesc.of(CD_long, CD_int, CD_int, CD_int, CD_int, CD_int);
    private static final ClassDesc CD_INTEGER = ClassDesc.of("java.lang.Integer");
    private static final MethodTypeDesc MTD_ROTATE = MethodTypeDesc.of(CD_int, CD_int, CD_int);
    private static final MethodTypeDesc MTD_DOUBLE_SHIFTED =
            MethodTypeDesc.of(CD_long, CD_boolean, CD_int, CD_int, CD_int, CD_int, CD_int);

    static void register() {
        for (int opcode : new int[] {0xc0, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3}) {
            BlockTranslator.addForm(opcode, in -> true, 0, false, ShiftForms::shift);
        }
        for (int opcode : new int[] {0x1a4, 0x1a5, 0x1ac, 0x1ad}) {
            BlockTranslator.addForm(opcode, in -> true, 0, false, ShiftForms::doubleShift);
        }
    }

    /** The count an instruction names, or -1 when it is CL's (known only when it runs). */
    private static int constantCount(Instruction in) {
        return switch (in.opcode) {
            case 0xc0, 0xc1, 0x1a4, 0x1ac -> in.immediate & 31;
            case 0xd0, 0xd1 -> 1;
            default -> -1;
        };
    }

    private static void pushCount(Emitter e, int count) {
        if (count >= 0) {
            e.code.loadConstant(count);
        } else {
            e.loadReg(X86.ECX);
            e.code.loadConstant(0xff).iand();
        }
    }

    private static void shift(Emitter e, Instruction in) {
        int size = (in.opcode & 1) == 0 ? 1 : in.operandSize();
        int operation = in.reg;
        int count = constantCount(in);
        if (count == 0) {
            // Nothing changes, but a memory operand is still read and written (its faults).
            e.readModifyWrite(in, size, false, () -> {
            });
            return;
        }
        if (count > 0 && size == 4 && in.mod == 3 && operation != 2 && operation != 3 && e.flagsDead()) {
            // Only the value (FlagLiveness): one JVM shift or rotate.
            e.loadReg(in.rm);
            e.code.loadConstant(count);
            switch (operation) {
                case 0 -> e.code.invokestatic(CD_INTEGER, "rotateLeft", MTD_ROTATE);
                case 1 -> e.code.invokestatic(CD_INTEGER, "rotateRight", MTD_ROTATE);
                case 5 -> e.code.iushr();
                case 7 -> e.code.ishr();
                default -> e.code.ishl();
            }
            e.commitReg(in.rm);
            return;
        }
        boolean keepsFlags = count < 0 || operation < 4;
        e.readModifyWrite(in, size, true, () -> {
            e.code.istore(Emitter.SCRATCH);
            e.code.loadConstant(operation).iload(Emitter.SCRATCH);
            pushCount(e, count);
            e.code.loadConstant(size);
            if (keepsFlags) {
                e.pushStatus();
            } else {
                e.code.iconst_0();
            }
            // By CL: the form that keeps a count of 0 without a branch (its profile is shared).
            e.code.invokestatic(CD_ALU, count < 0 ? "shiftedByVariableCount" : "shifted", MTD_SHIFTED);
            e.unpackResultAndFlags();
        });
    }

    private static void doubleShift(Emitter e, Instruction in) {
        int size = in.operandSize();
        int count = constantCount(in);
        if (count == 0) {
            e.readModifyWrite(in, size, false, () -> {
            });
            return;
        }
        e.readModifyWrite(in, size, true, () -> {
            e.code.istore(Emitter.SCRATCH);
            e.code.loadConstant(in.opcode < 0x1a8 ? 1 : 0).iload(Emitter.SCRATCH);
            e.loadReg(in.reg, size);
            pushCount(e, count);
            e.code.loadConstant(size);
            if (count < 0) {
                e.pushStatus();
            } else {
                e.code.iconst_0();
            }
            e.code.invokestatic(CD_ALU, "doubleShifted", MTD_DOUBLE_SHIFTED);
            e.unpackResultAndFlags();
        });
    }
}
