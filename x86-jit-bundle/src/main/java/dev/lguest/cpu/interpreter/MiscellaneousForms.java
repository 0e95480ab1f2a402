// The remaining common integer forms, compiled: MOVSX (0F BE/BF) and MOVZX into words,
// SETcc, CMOVcc, CBW/CWDE, CWD/CDQ, LEAVE, PUSH of immediates and of r/m, BSWAP,
// BT/BTS/BTR/BTC with a register or an immediate bit offset (the memory form with a
// register offset, which reaches outside the operand, stays with the interpreter),
// BSF/BSR, XADD and CMPXCHG. Each does what the interpreter's handler does (Executor,
// TwoByteOps), in the same order of reads, faults and writes.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.BlockTranslator.CD_ALU;
import static dev.lguest.cpu.interpreter.BlockTranslator.CD_CPU;
import static dev.lguest.cpu.interpreter.BlockTranslator.CD_RUNTIME;
import static java.lang.constant.ConstantDescs.CD_int;

import dev.lguest.api.cpu.X86;
import java.lang.classfile.Label;
import java.lang.constant.MethodTypeDesc;

final class MiscellaneousForms {
    private MiscellaneousForms() {
    }


    static void register() {
        for (int opcode : new int[] {0x1be, 0x1bf}) {
            int sourceSize = opcode == 0x1be ? 1 : 2;
            BlockTranslator.addForm(opcode, in -> true, 0, false, (e, in) -> {
                e.loadOperand(in, sourceSize);
                if (sourceSize == 1) {
                    e.code.i2b();
                } else {
                    e.code.i2s();
                }
                e.commitReg(in.reg, in.operandSize());
            });
        }
        for (int opcode : new int[] {0x1b6, 0x1b7}) {
            int sourceSize = opcode == 0x1b6 ? 1 : 2;
            BlockTranslator.addForm(opcode, in -> true, 0, false, (e, in) -> {
                e.loadOperand(in, sourceSize);
                e.commitReg(in.reg, in.operandSize());
            });
        }
        for (int cc = 0; cc < 16; cc++) {
            int condition = cc;
            BlockTranslator.addForm(0x190 + cc, in -> true, 0, false, (e, in) -> {
                e.pushCondition(condition);
                e.code.istore(Emitter.SCRATCH);
                e.storeOperand(in, 1, () -> e.code.iload(Emitter.SCRATCH));
            });
            BlockTranslator.addForm(0x140 + cc, in -> true, 0, false, (e, in) -> conditionalMove(e, in, condition));
        }
        BlockTranslator.addForm(0x98, in -> true, 0, false, (e, in) -> {
            e.loadReg(X86.EAX);
            if (in.operand32) {
                e.code.i2s();
            } else {
                e.code.i2b();
            }
            e.commitReg(X86.EAX, in.operandSize());
        });
        BlockTranslator.addForm(0x99, in -> true, 1 << X86.EDX, false, (e, in) -> {
            e.loadReg(X86.EAX);
            if (in.operand32) {
                e.code.loadConstant(31).ishr();
            } else {
                e.code.i2s().loadConstant(15).ishr();
            }
            e.commitReg(X86.EDX, in.operandSize());
        });
        BlockTranslator.addForm(0xc9, in -> true, 1 << X86.EBP, false, MiscellaneousForms::leave);
        for (int opcode : new int[] {0x68, 0x6a}) {
            BlockTranslator.addForm(opcode, in -> true, 0, false,
                    (e, in) -> e.push(in.operandSize(), () -> e.code.loadConstant(in.immediate)));
        }
        BlockTranslator.addForm(0xff, in -> in.reg == 6, 0, false,
                (e, in) -> e.push(in.operandSize(), () -> e.loadOperand(in, in.operandSize())));
        for (int r = 0; r < 8; r++) {
            int target = r;
            BlockTranslator.addForm(0x1c8 + r, in -> true, 0, false, (e, in) -> {
                e.loadReg(target);
                e.code.invokestatic(java.lang.constant.ClassDesc.of("java.lang.Integer"), "reverseBytes",
                        MethodTypeDesc.of(CD_int, CD_int));
                e.commitReg(target);
            });
        }
        for (int opcode : new int[] {0x1a3, 0x1ab, 0x1b3, 0x1bb}) {
            int action = (opcode >>> 3) & 3;
            BlockTranslator.addForm(opcode, in -> in.mod == 3, 0, false,
                    (e, in) -> bitTest(e, in, action, () -> e.loadReg(in.reg, in.operandSize())));
        }
        BlockTranslator.addForm(0x1ba, in -> in.reg >= 4, 0, false,
                (e, in) -> bitTest(e, in, in.reg & 3, () -> e.code.loadConstant(in.immediate & 0xff)));
        for (int opcode : new int[] {0x1bc, 0x1bd}) {
            BlockTranslator.addForm(opcode, in -> true, 0, false, (e, in) -> bitScan(e, in, opcode == 0x1bc));
        }
        for (int opcode : new int[] {0x1c0, 0x1c1}) {
            // XADD of a register with itself is left to the interpreter (its two writes' order).
            BlockTranslator.addForm(opcode, in -> in.mod != 3 || in.rm != in.reg, 0, false,
                    MiscellaneousForms::exchangeAdd);
        }
        for (int opcode : new int[] {0x1b0, 0x1b1}) {
            BlockTranslator.addForm(opcode, in -> true, 0, false, MiscellaneousForms::compareExchange);
        }
    }

    private static void conditionalMove(Emitter e, Instruction in, int cc) {
        int size = in.operandSize();
        e.loadOperand(in, size); // read (and able to fault) whatever the condition
        e.code.istore(Emitter.SCRATCH);
        e.closeFaultRange();
        Label keep = e.code.newLabel();
        Label done = e.code.newLabel();
        e.pushCondition(cc);
        e.code.ifeq(keep);
        e.code.iload(Emitter.SCRATCH).goto_(done);
        e.code.labelBinding(keep);
        e.loadReg(in.reg, size);
        e.code.labelBinding(done);
        e.commitReg(in.reg, size);
    }

    /** LEAVE: ESP takes EBP, then the old frame pointer is popped (Executor, opcode C9). */
    private static void leave(Emitter e, Instruction in) {
        int size = in.operandSize();
        e.code.aload(Emitter.CPU);
        e.loadReg(X86.ESP);
        e.loadReg(X86.EBP);
        e.code.invokestatic(CD_RUNTIME, "leaveFrameTop", MethodTypeDesc.of(CD_int, CD_CPU, CD_int, CD_int));
        e.code.istore(Emitter.SCRATCH);
        e.code.aload(Emitter.CPU).iload(Emitter.SCRATCH).iconst_0().loadConstant(size);
        e.mayFault();
        e.code.invokestatic(CD_RUNTIME, "stackRead", MethodTypeDesc.of(CD_int, CD_CPU, CD_int, CD_int, CD_int));
        e.code.istore(Emitter.SCRATCH2);
        e.closeFaultRange();
        e.stackPointerPlus(() -> e.code.iload(Emitter.SCRATCH), size);
        e.commitReg(X86.ESP);
        e.code.iload(Emitter.SCRATCH2);
        e.commitReg(X86.EBP, size);
    }

    /** BT (action 0), BTS, BTR, BTC of an r/m operand whose bit stays inside it: CF takes the bit. */
    private static void bitTest(Emitter e, Instruction in, int action, Runnable offset) {
        int size = in.operandSize();
        int bits = size * 8;
        offset.run();
        e.code.loadConstant(bits - 1).iand().istore(Emitter.SCRATCH2);
        Runnable flags = () -> carryFromBit(e);
        if (action == 0) {
            e.loadOperand(in, size);
            e.code.istore(Emitter.SCRATCH);
            e.closeFaultRange();
            flags.run();
            e.commitFlags();
            return;
        }
        e.readModifyWrite(in, size, true, () -> {
            e.code.istore(Emitter.SCRATCH);
            flags.run();
            e.code.iload(Emitter.SCRATCH);
            modifyBit(e, action, size);
        });
    }

    /** NEW_FLAGS: the flags as they stand with CF the tested bit (the word in SCRATCH, the bit number in SCRATCH2). */
    static void carryFromBit(Emitter e) {
        e.pushStatus();
        e.code.loadConstant(~X86.CF).iand();
        e.code.iload(Emitter.SCRATCH).iload(Emitter.SCRATCH2).iushr().iconst_1().iand().ior()
                .istore(Emitter.NEW_FLAGS);
    }

    /** With a word on the stack: sets (action 1), clears (2) or flips (3) its bit numbered in SCRATCH2. */
    static void modifyBit(Emitter e, int action, int size) {
        e.code.iconst_1().iload(Emitter.SCRATCH2).ishl();
        switch (action) {
            case 1 -> e.code.ior();
            case 2 -> e.code.iconst_m1().ixor().iand();
            default -> e.code.ixor();
        }
        e.maskTo(size);
    }

    /** BSF, BSR: a zero source sets ZF and leaves the destination; else ZF clear and the index. */
    private static void bitScan(Emitter e, Instruction in, boolean forward) {
        int size = in.operandSize();
        e.loadOperand(in, size);
        e.code.istore(Emitter.SCRATCH);
        e.closeFaultRange();
        e.pushStatus();
        e.code.istore(Emitter.NEW_FLAGS);
        Label found = e.code.newLabel();
        Label done = e.code.newLabel();
        e.code.iload(Emitter.SCRATCH).ifne(found);
        e.code.iload(Emitter.NEW_FLAGS).loadConstant(X86.ZF).ior().istore(Emitter.NEW_FLAGS);
        e.code.goto_(done);
        e.code.labelBinding(found);
        e.code.iload(Emitter.NEW_FLAGS).loadConstant(~X86.ZF).iand().istore(Emitter.NEW_FLAGS);
        java.lang.constant.ClassDesc integer = java.lang.constant.ClassDesc.of("java.lang.Integer");
        if (forward) {
            e.code.iload(Emitter.SCRATCH)
                    .invokestatic(integer, "numberOfTrailingZeros", MethodTypeDesc.of(CD_int, CD_int));
        } else {
            e.code.loadConstant(31).iload(Emitter.SCRATCH)
                    .invokestatic(integer, "numberOfLeadingZeros", MethodTypeDesc.of(CD_int, CD_int)).isub();
        }
        e.commitReg(in.reg, size);
        e.code.labelBinding(done);
        e.commitFlags();
    }

    /** XADD: the sum goes to the destination, the destination's old value to the register. */
    private static void exchangeAdd(Emitter e, Instruction in) {
        int size = ByteWordForms.sizeOf(in);
        e.readModifyWrite(in, size, true, () -> {
            e.code.dup().istore(Emitter.SCRATCH3);
            e.loadReg(in.reg, size);
            e.arithmetic(Alu.ADD, size);
        }, () -> {
            e.code.iload(Emitter.SCRATCH3);
            e.commitReg(in.reg, size);
        });
    }

    /**
     * CMPXCHG: the accumulator compared with the destination (the flags of that
     * subtraction); equal, the destination takes the register, else it is written back
     * unchanged and the accumulator takes it.
     */
    private static void compareExchange(Emitter e, Instruction in) {
        int size = ByteWordForms.sizeOf(in);
        Label after = e.code.newLabel();
        e.readModifyWrite(in, size, true, () -> {
            e.code.istore(Emitter.SCRATCH3);
            e.loadReg(X86.EAX, size);
            e.code.iload(Emitter.SCRATCH3).iconst_0().loadConstant(size)
                    .invokestatic(CD_ALU, "subStatus", Emitter.MTD_STATUS4).istore(Emitter.NEW_FLAGS);
            Label differ = e.code.newLabel();
            Label chosen = e.code.newLabel();
            e.loadReg(X86.EAX, size);
            e.code.iload(Emitter.SCRATCH3).if_icmpne(differ);
            e.code.iconst_1().istore(Emitter.SCRATCH4);
            e.loadReg(in.reg, size);
            e.code.goto_(chosen);
            e.code.labelBinding(differ);
            e.code.iconst_0().istore(Emitter.SCRATCH4);
            e.code.iload(Emitter.SCRATCH3);
            e.code.labelBinding(chosen);
        }, () -> {
            e.code.iload(Emitter.SCRATCH4).ifne(after);
            e.code.iload(Emitter.SCRATCH3);
            e.commitReg(X86.EAX, size);
            e.code.labelBinding(after);
        });
    }
}
