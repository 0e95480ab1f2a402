// The integer forms of every operand size the first-generation table leaves out: the
// ALU operations of 00-3D and 80-83 on bytes and words (and ADC/SBB on doublewords),
// TEST (84/85, A8/A9), XCHG (86/87, 91-97), MOV of words (89, 8B, C7, B8-BF) and of
// byte immediates (B0-B7, C6), INC and DEC of words and of any r/m (40-4F, FE, FF /0
// /1). Their flags are eager: the interpreter's own pure functions (Alu.addStatus,
// subStatus, resultFlags) put them in the block's FLAGS local after the last fault;
// only a CMP of bytes or words notes its operands lazily instead (NarrowCompare).
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.BlockTranslator.CD_ALU;
import static java.lang.constant.ConstantDescs.CD_int;

import dev.lguest.api.cpu.X86;
import java.lang.constant.MethodTypeDesc;

final class ByteWordForms {
    private ByteWordForms() {
    }


    static void register() {
        for (int op = 0; op < 0x40; op++) {
            if ((op & 7) < 6) {
                int opcode = op;
                BlockTranslator.addForm(opcode, in -> true, 0, false, (e, in) -> arithmetic(e, in, opcode));
            }
        }
        for (int opcode : new int[] {0x80, 0x81, 0x82, 0x83}) {
            BlockTranslator.addForm(opcode, in -> true, 0, false, (e, in) -> {
                int size = opcode == 0x80 || opcode == 0x82 ? 1 : in.operandSize();
                toRm(e, in, in.reg, size, () -> e.code.loadConstant(in.immediate));
            });
        }
        for (int opcode : new int[] {0x84, 0x85}) {
            BlockTranslator.addForm(opcode, in -> true, 0, false, (e, in) -> {
                int size = sizeOf(in);
                e.loadOperand(in, size);
                e.loadReg(in.reg, size);
                flagsOnly(e, Alu.AND, size);
            });
        }
        for (int opcode : new int[] {0xa8, 0xa9}) {
            BlockTranslator.addForm(opcode, in -> true, 0, false, (e, in) -> {
                int size = sizeOf(in);
                e.loadReg(X86.EAX, size);
                e.code.loadConstant(in.immediate);
                flagsOnly(e, Alu.AND, size);
            });
        }
        for (int opcode : new int[] {0x86, 0x87}) {
            // XCHG with r/m: a register swapped with itself is left to the interpreter.
            BlockTranslator.addForm(opcode, in -> in.mod != 3 || in.rm != in.reg, 0, false, (e, in) -> {
                int size = sizeOf(in);
                e.readModifyWrite(in, size, false, () -> {
                    e.code.istore(Emitter.SCRATCH3);
                    e.loadReg(in.reg, size);
                }, () -> {
                    e.code.iload(Emitter.SCRATCH3);
                    e.commitReg(in.reg, size);
                });
            });
        }
        for (int r = 1; r < 8; r++) {
            int other = r;
            BlockTranslator.addForm(0x90 + r, in -> true, 0, false, (e, in) -> {
                int size = in.operandSize();
                e.loadReg(other, size);
                e.code.istore(Emitter.SCRATCH);
                e.loadReg(X86.EAX, size);
                e.commitReg(other, size);
                e.code.iload(Emitter.SCRATCH);
                e.commitReg(X86.EAX, size);
            });
        }
        BlockTranslator.addForm(0x89, in -> true, 0, false,
                (e, in) -> e.storeOperand(in, in.operandSize(), () -> e.loadReg(in.reg, in.operandSize())));
        BlockTranslator.addForm(0x8b, in -> true, 0, false, (e, in) -> {
            e.loadOperand(in, in.operandSize());
            e.commitReg(in.reg, in.operandSize());
        });
        BlockTranslator.addForm(0xc6, in -> in.reg == 0, 0, false,
                (e, in) -> e.storeOperand(in, 1, () -> e.code.loadConstant(in.immediate & 0xff)));
        BlockTranslator.addForm(0xc7, in -> in.reg == 0, 0, false,
                (e, in) -> e.storeOperand(in, in.operandSize(), () -> e.code.loadConstant(in.immediate)));
        for (int r = 0; r < 8; r++) {
            int target = r;
            BlockTranslator.addForm(0xb0 + r, in -> true, 1 << (target & 3), false, (e, in) -> {
                e.code.loadConstant(in.immediate & 0xff);
                e.commitReg(target, 1);
            });
            BlockTranslator.addForm(0xb8 + r, in -> true, 0, false, (e, in) -> {
                e.code.loadConstant(in.immediate);
                e.commitReg(target, in.operandSize());
            });
            BlockTranslator.addForm(0x40 + r, in -> true, 0, false,
                    (e, in) -> incrementRegister(e, target, in.operandSize(), 1));
            BlockTranslator.addForm(0x48 + r, in -> true, 0, false,
                    (e, in) -> incrementRegister(e, target, in.operandSize(), -1));
        }
        BlockTranslator.addForm(0xfe, in -> in.reg < 2, 0, false,
                (e, in) -> e.readModifyWrite(in, 1, true, () -> increment(e, 1, in.reg == 0 ? 1 : -1)));
        BlockTranslator.addForm(0xff, in -> in.reg < 2, 0, false, (e, in) -> e.readModifyWrite(in,
                in.operandSize(), true, () -> increment(e, in.operandSize(), in.reg == 0 ? 1 : -1)));
    }

    /** Byte for even opcodes of a pair, word/doubleword for odd ones. */
    static int sizeOf(Instruction in) {
        return (in.opcode & 1) == 0 ? 1 : in.operandSize();
    }

    private static void arithmetic(Emitter e, Instruction in, int opcode) {
        int operation = opcode >>> 3;
        int size = (opcode & 1) == 0 ? 1 : in.operandSize();
        switch (opcode & 7) {
            case 0, 1 -> toRm(e, in, operation, size, () -> e.loadReg(in.reg, size));
            case 2, 3 -> {
                e.loadReg(in.reg, size);
                e.loadOperand(in, size);
                toRegister(e, operation, in.reg, size);
            }
            default -> {
                e.loadReg(X86.EAX, size);
                e.code.loadConstant(in.immediate);
                toRegister(e, operation, X86.EAX, size);
            }
        }
    }

    /** An ALU operation into an r/m operand: CMP only reads it. */
    private static void toRm(Emitter e, Instruction in, int operation, int size, Runnable source) {
        if (operation == Alu.CMP) {
            e.loadOperand(in, size);
            source.run();
            compare(e, size);
        } else {
            e.readModifyWrite(in, size, true, () -> {
                source.run();
                e.arithmetic(operation, size);
            });
        }
    }

    private static void toRegister(Emitter e, int operation, int r, int size) {
        if (operation == Alu.CMP) {
            compare(e, size);
            return;
        }
        e.arithmetic(operation, size);
        if (operation == Alu.CMP) {
            e.code.pop();
        } else {
            e.commitReg(r, size);
        }
        e.commitFlags();
    }

    /** CMP of the two values on the stack: bytes and words lazily (NarrowCompare). */
    private static void compare(Emitter e, int size) {
        if (size == 4) {
            flagsOnly(e, Alu.CMP, size);
        } else {
            NarrowCompare.emit(e, size);
        }
    }

    /** CMP and TEST: the flags of the operation on the two values on the stack, nothing stored. */
    static void flagsOnly(Emitter e, int operation, int size) {
        e.arithmetic(operation, size);
        e.code.pop();
        e.commitFlags();
    }

    private static void incrementRegister(Emitter e, int r, int size, int delta) {
        if (e.flagsDead()) {
            // Nor is the CF it keeps seen (FlagLiveness): the value alone.
            e.loadReg(r, size);
            e.code.loadConstant(delta).iadd();
            e.maskTo(size);
            e.commitReg(r, size);
            return;
        }
        e.loadReg(r, size);
        increment(e, size, delta);
        e.commitReg(r, size);
        e.commitFlags();
    }

    /** INC or DEC of the value on the stack: the flags of adding or subtracting 1, CF kept. */
    private static void increment(Emitter e, int size, int delta) {
        e.code.istore(Emitter.SCRATCH);
        e.code.iload(Emitter.SCRATCH).iconst_1().iconst_0().loadConstant(size)
                .invokestatic(CD_ALU, delta > 0 ? "addStatus" : "subStatus", Emitter.MTD_STATUS4);
        e.code.loadConstant(~X86.CF).iand();
        e.pushCarry();
        e.code.ior().istore(Emitter.NEW_FLAGS);
        e.code.iload(Emitter.SCRATCH).loadConstant(delta).iadd();
        e.maskTo(size);
    }
}
