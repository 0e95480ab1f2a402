// The stack forms compiled blocks still handed to the interpreter: POP r/m (8F /0) and
// PUSH/POP of a 16-bit register (50-5F with the 66 prefix). As in the interpreter
// (Executor.popToRm, cpu.push/pop): POP r/m reads the top of the stack, then writes the
// destination, whose address is computed with ESP already past the popped value (POP
// [ESP+4] writes above the new top); a fault in that write leaves ESP as it was. A
// popped register takes the value after ESP moved, so POP SP (and POP ESP through r/m)
// ends with the value popped.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.BlockTranslator.CD_CPU;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_void;

import dev.lguest.api.cpu.X86;
import java.lang.constant.MethodTypeDesc;

final class StackForms {
    private StackForms() {
    }

    static void register() {
        for (int r = 0; r < 8; r++) {
            int register = r;
            BlockTranslator.addForm(0x50 + r, in -> !in.operand32, 0, false,
                    (e, in) -> e.push(2, () -> e.loadReg(register, 2)));
            BlockTranslator.addForm(0x58 + r, in -> !in.operand32, 0, false, (e, in) -> {
                e.peek(0, 2);
                e.code.istore(Emitter.SCRATCH);
                e.closeFaultRange();
                e.stackPointerPlus(() -> e.loadReg(X86.ESP), 2);
                e.commitReg(X86.ESP);
                e.code.iload(Emitter.SCRATCH);
                e.commitReg(register, 2);
            });
        }
        BlockTranslator.addForm(0x8f, in -> in.reg == 0, 0, false, StackForms::popToRm);
    }

    private static void popToRm(Emitter e, Instruction in) {
        int size = in.operandSize();
        e.peek(0, size);
        e.code.istore(Emitter.SCRATCH);
        e.stackPointerPlus(() -> e.loadReg(X86.ESP), size);
        e.code.istore(Emitter.SCRATCH2);
        if (in.mod == 3) {
            e.closeFaultRange();
            e.code.iload(Emitter.SCRATCH2);
            e.commitReg(X86.ESP);
            e.code.iload(Emitter.SCRATCH);
            e.commitReg(in.rm, size);
            return;
        }
        e.code.aload(Emitter.CPU).loadConstant(in.segment());
        addressAfterPop(e, in);
        e.code.iload(Emitter.SCRATCH);
        e.mayFault();
        e.invokeAccess(size == 4 ? "write32" : "write16",
                MethodTypeDesc.of(CD_void, CD_CPU, CD_int, CD_int, CD_int));
        e.closeFaultRange();
        e.code.iload(Emitter.SCRATCH2);
        e.commitReg(X86.ESP);
        e.exitIfBlockEnded(in);
    }

    /** The destination's effective address with ESP already moved (its new value in SCRATCH2). */
    private static void addressAfterPop(Emitter e, Instruction in) {
        e.code.loadConstant(in.displacement);
        if (in.base >= 0) {
            if (in.base == X86.ESP) {
                e.code.iload(Emitter.SCRATCH2);
            } else {
                e.loadReg(in.base);
            }
            e.code.iadd();
        }
        if (in.index >= 0) {
            e.loadReg(in.index);
            if (in.scale != 0) {
                e.code.loadConstant(in.scale).ishl();
            }
            e.code.iadd();
        }
        if (!in.address32) {
            e.code.loadConstant(0xffff).iand();
        }
    }
}
