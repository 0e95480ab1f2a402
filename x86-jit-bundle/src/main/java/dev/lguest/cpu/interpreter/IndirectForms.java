// Compiled forms of the near CALL and JMP whose target is known only when they run:
// through a register or memory (FF /2, FF /4), 32-bit operand size (the 16-bit forms
// stay with the interpreter). Function pointers and jump tables (a bytecode machine's
// dispatch, qsort's comparison) then no longer hand each transfer to the interpreter
// with all registers written back and read again; the block is left with EIP at the
// target, where the run loop's chain (TranslatingCpu.runBlock) goes on.
//
// As in the interpreter (Executor.group5): the target is read (through ESP as it was
// before the instruction, for an operand addressed by ESP) and checked against the CS
// limit before anything changes, and the CALL's push is its last possible fault, so a
// fault leaves the state of the instruction's start.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.BlockTranslator.CD_CPU;
import static dev.lguest.cpu.interpreter.BlockTranslator.CD_RUNTIME;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_void;

import dev.lguest.api.cpu.X86;
import java.lang.constant.MethodTypeDesc;

final class IndirectForms {
    private static final MethodTypeDesc MTD_CHECK = MethodTypeDesc.of(CD_void, CD_CPU, CD_int);
    private static final MethodTypeDesc MTD_PUSH = MethodTypeDesc.of(CD_int, CD_CPU, CD_int, CD_int);

    private IndirectForms() {
    }

    static void register() {
        BlockTranslator.addForm(0xff, in -> in.operand32 && in.reg == 2, 1 << X86.ESP, true, IndirectForms::call);
        BlockTranslator.addForm(0xff, in -> in.operand32 && in.reg == 4, 0, true, IndirectForms::jump);
    }

    /** CALL r/m32: read the target, check it, push the return address, go. */
    private static void call(Emitter e, Instruction in) {
        targetIntoTemp(e, in);
        e.code.aload(Emitter.CPU);
        e.loadReg(X86.ESP);
        e.code.loadConstant(in.next);
        e.mayFault();
        e.invokeAccess("push32", MTD_PUSH);
        e.commitReg(X86.ESP);
        e.exit(e.index + 1, () -> e.code.iload(Emitter.TEMP));
    }

    /** JMP r/m32. */
    private static void jump(Emitter e, Instruction in) {
        targetIntoTemp(e, in);
        e.closeFaultRange();
        e.exit(e.index + 1, () -> e.code.iload(Emitter.TEMP));
    }

    /** The operand into TEMP, checked against the CS limit (#GP(0) past it). */
    private static void targetIntoTemp(Emitter e, Instruction in) {
        e.loadRm32(in);
        e.code.istore(Emitter.TEMP);
        e.mayFault();
        e.code.aload(Emitter.CPU).iload(Emitter.TEMP).invokestatic(CD_RUNTIME, "checkTarget", MTD_CHECK);
    }
}
