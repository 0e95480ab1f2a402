// The x87 instructions (D8-DF) and FWAIT (9B), compiled as one call each into the FPU
// unit (X87.executeCompiled), which does what the interpreter does for them: the #NM
// and #MF checks, the fast forms on primitives with the exact code behind them, the
// FPU pointers and the tag word. What the call needs of the block is small, so the
// block's registers and flags stay in its locals around it instead of going through
// the interpreter's general handler:
//  - a memory operand's offset is worked out here from the registers in locals (the
//    x87 changes no general register an address could depend on);
//  - FNSTSW AX writes AX through cpu.gpr: EAX is stored there before and read back;
//  - FCMOVcc reads and FCOMI/FUCOMI(P) write the status flags in cpu.eflags: the
//    block's flag record goes to the Alu before (executeCompiledWithFlags works it
//    out there), and after an FCOMI the six flags are the block's eager ones;
//  - every other form touches neither.
// A fault (#NM, #MF, #UD, a page fault on the operand) leaves through the
// instruction's own handler, with the state as it was at its start; a store into the
// block's own code ends the block as any store does.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.BlockTranslator.CD_COMPILED;
import static dev.lguest.cpu.interpreter.BlockTranslator.CD_CPU;
import static dev.lguest.cpu.interpreter.BlockTranslator.CD_EXECUTOR;
import static dev.lguest.cpu.interpreter.BlockTranslator.CD_INSTRUCTION;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_void;

import dev.lguest.api.cpu.X86;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;

final class X87Forms {
    private X87Forms() {
    }

    private static final ClassDesc CD_X87 = ClassDesc.of("dev.lguest.cpu.interpreter.X87");

    static void register() {
        for (int opcode = 0xd8; opcode <= 0xdf; opcode++) {
            BlockTranslator.addForm(opcode, in -> true, 1 << X86.EAX, false, X87Forms::x87);
        }
        BlockTranslator.addForm(0x9b, in -> true, 0, false, (e, in) -> {
            e.mayFault();
            loadUnit(e);
            e.code.invokevirtual(CD_X87, "waitInstruction", MethodTypeDesc.of(CD_void));
            e.closeFaultRange();
        });
    }

    /** FCMOVcc (DA/DB C0-DF): reads CF, ZF or PF. */
    static boolean readsFlags(Instruction in) {
        return in.mod == 3 && (in.opcode == 0xda || in.opcode == 0xdb) && in.reg < 4;
    }

    /** FUCOMI/FCOMI (DB E8-F7) and FUCOMIP/FCOMIP (DF E8-F7): set ZF, PF and CF, clear OF, SF and AF. */
    static boolean writesFlags(Instruction in) {
        return in.mod == 3 && (in.opcode == 0xdb || in.opcode == 0xdf) && (in.reg == 5 || in.reg == 6);
    }

    /** FNSTSW AX (DF E0). */
    static boolean writesAx(Instruction in) {
        return in.mod == 3 && in.opcode == 0xdf && in.reg == 4 && in.rm == 0;
    }

    private static void x87(Emitter e, Instruction in) {
        boolean flags = readsFlags(in) || writesFlags(in);
        e.mayFault();
        if (flags) {
            e.flagsToCpu();
        }
        if (writesAx(in)) {
            e.code.aload(Emitter.GPR).loadConstant(X86.EAX);
            e.loadReg(X86.EAX);
            e.code.iastore();
        }
        loadUnit(e);
        e.code.aload(Emitter.THIS).getfield(CD_COMPILED, "code", CD_INSTRUCTION.arrayType())
                .loadConstant(e.index).aaload();
        if (in.mod == 3) {
            e.code.iconst_0();
        } else {
            e.effectiveAddress(in);
        }
        e.code.invokevirtual(CD_X87, flags ? "executeCompiledWithFlags" : "executeCompiled",
                MethodTypeDesc.of(CD_void, CD_INSTRUCTION, CD_int));
        e.closeFaultRange();
        if (writesAx(in)) {
            e.code.aload(Emitter.GPR).loadConstant(X86.EAX).iaload();
            e.commitReg(X86.EAX);
        }
        if (writesFlags(in)) {
            e.eagerFlagsFromCpu();
        }
        if (in.mod != 3) {
            e.exitIfBlockEnded(in);
        }
    }

    /** Pushes the CPU's x87 unit (cpu.executor.x87). */
    private static void loadUnit(Emitter e) {
        e.code.aload(Emitter.CPU).getfield(CD_CPU, "executor", CD_EXECUTOR).getfield(CD_EXECUTOR, "x87", CD_X87);
    }
}
