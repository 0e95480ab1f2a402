// Group 3 (F6 bytes, F7 words and doublewords), compiled: TEST with an immediate, NOT,
// NEG, MUL and IMUL of the accumulator, DIV and IDIV; and the two- and three-operand
// IMUL of words. Products and quotients come from
// the interpreter's own pure functions (Alu.multiplied, multiplyStatus, divided), so the
// two CPUs agree by construction. A division's #DE is raised by Alu.divided inside the
// instruction's fault range, before any register changes: the fault is exact.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.BlockTranslator.CD_ALU;
import static java.lang.constant.ConstantDescs.CD_boolean;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;

import dev.lguest.api.cpu.X86;
import java.lang.constant.MethodTypeDesc;

final class UnaryMultiplyDivideForms {
    private UnaryMultiplyDivideForms() {
    }

    private static final MethodTypeDesc MTD_MULTIPLIED =
            MethodTypeDesc.of(CD_long, CD_int, CD_int, CD_int, CD_boolean);
    private static final MethodTypeDesc MTD_MULTIPLY_STATUS =
            MethodTypeDesc.of(CD_int, CD_long, CD_int, CD_boolean);
    private static final MethodTypeDesc MTD_DIVIDED =
            MethodTypeDesc.of(CD_long, CD_int, CD_int, CD_int, CD_int, CD_boolean);

    static void register() {
        for (int opcode : new int[] {0xf6, 0xf7}) {
            BlockTranslator.addForm(opcode, in -> true, 1 << X86.EDX, false, UnaryMultiplyDivideForms::group3);
        }
        // IMUL of words (the doubleword forms are in the first-generation table).
        for (int opcode : new int[] {0x69, 0x6b}) {
            BlockTranslator.addForm(opcode, in -> true, 0, false, (e, in) -> {
                e.loadOperand(in, in.operandSize());
                e.code.loadConstant(in.immediate);
                e.multiply(in.reg, in.operandSize());
            });
        }
        BlockTranslator.addForm(0x1af, in -> true, 0, false, (e, in) -> {
            e.loadReg(in.reg, in.operandSize());
            e.loadOperand(in, in.operandSize());
            e.multiply(in.reg, in.operandSize());
        });
    }

    private static void group3(Emitter e, Instruction in) {
        int size = ByteWordForms.sizeOf(in);
        switch (in.reg) {
            case 0, 1 -> {
                e.loadOperand(in, size);
                e.code.loadConstant(in.immediate);
                ByteWordForms.flagsOnly(e, Alu.AND, size);
            }
            case 2 -> e.readModifyWrite(in, size, false, () -> {
                e.code.iconst_m1().ixor();
                e.maskTo(size);
            });
            case 3 -> {
                if (size == 4 && in.mod == 3 && e.flagsDead()) {
                    e.loadReg(in.rm);
                    e.code.ineg();
                    e.commitReg(in.rm);
                } else {
                    negate(e, in, size);
                }
            }
            case 4, 5 -> multiply(e, in, size, in.reg == 5);
            default -> divide(e, in, size, in.reg == 7);
        }
    }

    private static void negate(Emitter e, Instruction in, int size) {
        e.readModifyWrite(in, size, true, () -> {
                e.code.istore(Emitter.SCRATCH);
                e.code.iconst_0().iload(Emitter.SCRATCH).iconst_0().loadConstant(size)
                        .invokestatic(CD_ALU, "subStatus", Emitter.MTD_STATUS4).istore(Emitter.NEW_FLAGS);
                e.code.iconst_0().iload(Emitter.SCRATCH).isub();
                e.maskTo(size);
            });
    }

    private static void multiply(Emitter e, Instruction in, int size, boolean signed) {
        e.loadOperand(in, size);
        e.code.istore(Emitter.SCRATCH);
        e.closeFaultRange();
        if (size == 4 && e.flagsDead()) {
            // Only the product (FlagLiveness): one JVM multiply of the extended operands.
            e.loadReg(X86.EAX);
            e.code.i2l();
            if (!signed) {
                e.code.loadConstant(0xffffffffL).land();
            }
            e.code.iload(Emitter.SCRATCH).i2l();
            if (!signed) {
                e.code.loadConstant(0xffffffffL).land();
            }
            e.code.lmul();
            commitPair(e, size, 32, true);
            return;
        }
        e.loadReg(X86.EAX);
        e.code.iload(Emitter.SCRATCH).loadConstant(size).loadConstant(signed ? 1 : 0);
        e.code.invokestatic(CD_ALU, "multiplied", MTD_MULTIPLIED);
        e.code.dup2().loadConstant(size).loadConstant(signed ? 1 : 0)
                .invokestatic(CD_ALU, "multiplyStatus", MTD_MULTIPLY_STATUS).istore(Emitter.NEW_FLAGS);
        commitPair(e, size, 16, true);
        e.commitFlags();
    }

    private static void divide(Emitter e, Instruction in, int size, boolean signed) {
        e.loadOperand(in, size);
        e.code.istore(Emitter.SCRATCH);
        e.loadReg(X86.EDX);
        e.loadReg(X86.EAX);
        e.mayFault();
        if (size == 4 && !signed) {
            e.code.iload(Emitter.SCRATCH).invokestatic(CD_ALU, "dividedUnsigned32",
                    MethodTypeDesc.of(CD_long, CD_int, CD_int, CD_int));
        } else {
            e.code.iload(Emitter.SCRATCH).loadConstant(size).loadConstant(signed ? 1 : 0);
            e.code.invokestatic(CD_ALU, "divided", MTD_DIVIDED);
        }
        if (size == 1) {
            // AL takes the quotient, AH the remainder.
            e.code.dup2().l2i().loadConstant(0xff).iand().istore(Emitter.SCRATCH2);
            e.code.loadConstant(32).lushr().l2i().loadConstant(0xff).iand().loadConstant(8).ishl()
                    .iload(Emitter.SCRATCH2).ior();
            e.commitReg(X86.EAX, 2);
        } else {
            commitPair(e, size, 32, false);
        }
    }

    /**
     * With a long on the stack: its low half goes to (E)AX and the half from bit
     * {@code highShift} on to (E)DX; for bytes (a product) all of it is AX.
     */
    private static void commitPair(Emitter e, int size, int highShift, boolean product) {
        if (size == 1) {
            e.code.l2i();
            e.commitReg(X86.EAX, 2);
            return;
        }
        int shift = size == 4 ? 32 : product ? highShift : 32;
        e.code.dup2().l2i();
        e.commitReg(X86.EAX, size);
        e.code.loadConstant(shift).lushr().l2i();
        e.commitReg(X86.EDX, size);
    }
}
