// The flag record across a loop's back edge, kept in the block's locals. A loop head
// inside a compiled method (a join point) is reached from two sides: the straight line
// (the block's entry, whose flags are whatever the Alu holds) and each jump back, whose
// flag record is of a kind known when it was translated (a CMP's, an INC's, six eager
// flags). Writing that record into the Alu on every pass (four field stores) so that
// both sides agree cost the sieve's loops a good part of their time, and the INC at
// one loop head then asked the Alu for CF (a call with a switch) on every pass.
//
// Instead both sides bring the record in the flag locals with its kind in a local too
// (Emitter.FLAGS_DYNAMIC): the entry side loads the Alu's record into them once, a
// jump back only stores its translation-time kind into the kind local (the operands
// already sit in RESULT, DESTINATION and SOURCE, eager flags in FLAGS). Whatever reads
// the flags from there (a CF for INC, DEC, ADC, SBB; a condition; all six) works them
// out from the locals by the kind local's value; where the block is left, faults or
// hands an instruction to the interpreter, the record goes to the Alu as it stands.
// The way out of a back edge (budget spent, an interrupt asked) keeps the record it had.
// Loop heads whose flags nothing sees (FlagLiveness.deadAt) need neither.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.BlockTranslator.CD_ALU;
import static dev.lguest.cpu.interpreter.BlockTranslator.CD_CPU;
import static dev.lguest.cpu.interpreter.Emitter.CPU;
import static dev.lguest.cpu.interpreter.Emitter.DESTINATION;
import static dev.lguest.cpu.interpreter.Emitter.FLAGS;
import static dev.lguest.cpu.interpreter.Emitter.FLAGS_DYNAMIC;
import static dev.lguest.cpu.interpreter.Emitter.FLAGS_UNKNOWN;
import static dev.lguest.cpu.interpreter.Emitter.FLAG_KIND;
import static dev.lguest.cpu.interpreter.Emitter.RESULT;
import static dev.lguest.cpu.interpreter.Emitter.SOURCE;
import static java.lang.constant.ConstantDescs.CD_int;

import dev.lguest.api.cpu.X86;
import java.lang.classfile.CodeBuilder;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;

final class LoopFlags {
    static final ClassDesc CD_LOOP_FLAGS = ClassDesc.of("dev.lguest.cpu.interpreter.LoopFlags");
    static final MethodTypeDesc MTD_FROM_RECORD = MethodTypeDesc.of(CD_int, CD_int, CD_int, CD_int, CD_int, CD_int);

    private LoopFlags() {
    }

    /**
     * Emits what brings the record of kind {@code kind} (an Alu kind, FLAGS_EAGER,
     * FLAGS_UNKNOWN or FLAGS_DYNAMIC) into the locals with its kind in FLAG_KIND: a
     * record in the Alu is loaded from it, one in the locals only names its kind.
     */
    static void emitToLocals(CodeBuilder code, int kind) {
        if (kind == FLAGS_DYNAMIC) {
            return;
        }
        if (kind != FLAGS_UNKNOWN) {
            // FLAGS_EAGER is Alu.EAGER: the kinds are the Alu's own numbers.
            code.loadConstant(kind).istore(FLAG_KIND);
            return;
        }
        code.aload(CPU).getfield(CD_CPU, "alu", CD_ALU).dup().dup().dup();
        code.getfield(CD_ALU, "pending", CD_int).istore(FLAG_KIND);
        code.getfield(CD_ALU, "lastResult", CD_int).istore(RESULT);
        code.getfield(CD_ALU, "lastDestination", CD_int).istore(DESTINATION);
        code.getfield(CD_ALU, "lastSource", CD_int).istore(SOURCE);
        code.aload(CPU).getfield(CD_CPU, "eflags", CD_int).loadConstant(Alu.STATUS).iand().istore(FLAGS);
    }

    /**
     * Emits the write of the record in the locals into the Alu: its kind, operands and
     * the eager flags (those go into cpu.eflags whatever the kind: while the Alu's
     * record is lazy, the status bits there mean nothing and are replaced when worked out).
     */
    static void emitToAlu(CodeBuilder code, int aluLocal) {
        code.aload(CPU).dup().getfield(CD_CPU, "eflags", CD_int).loadConstant(~Alu.STATUS).iand()
                .iload(FLAGS).ior().putfield(CD_CPU, "eflags", CD_int);
        code.aload(CPU).getfield(CD_CPU, "alu", CD_ALU).astore(aluLocal);
        code.aload(aluLocal).iload(FLAG_KIND).putfield(CD_ALU, "pending", CD_int);
        code.aload(aluLocal).iload(RESULT).putfield(CD_ALU, "lastResult", CD_int);
        code.aload(aluLocal).iload(DESTINATION).putfield(CD_ALU, "lastDestination", CD_int);
        code.aload(aluLocal).iload(SOURCE).putfield(CD_ALU, "lastSource", CD_int);
    }

    /** Pushes the record's kind and its four values, for status or carry below. */
    private static void pushRecord(CodeBuilder code) {
        code.iload(FLAG_KIND).iload(RESULT).iload(DESTINATION).iload(SOURCE).iload(FLAGS);
    }

    /** Emits a push of the six status flags the record in the locals stands for. */
    static void emitStatus(CodeBuilder code) {
        pushRecord(code);
        code.invokestatic(CD_LOOP_FLAGS, "status", MTD_FROM_RECORD);
    }

    /** Emits a push of CF (0 or 1) as the record in the locals stands. */
    static void emitCarry(CodeBuilder code) {
        pushRecord(code);
        code.invokestatic(CD_LOOP_FLAGS, "carry", MTD_FROM_RECORD);
    }

    /** The six status flags of a record of any kind (compiled code calls this). */
    static int status(int kind, int result, int destination, int source, int flags) {
        return kind == Alu.EAGER ? flags & Alu.STATUS : Alu.lazyStatus(kind, result, destination, source);
    }

    /** CF (0 or 1) of a record of any kind: what Alu.carry() answers for it (compiled code calls this). */
    static int carry(int kind, int result, int destination, int source, int flags) {
        return switch (kind) {
            case Alu.EAGER -> flags & X86.CF;
            case Alu.LAZY_ADD -> Integer.compareUnsigned(result, destination) < 0 ? 1 : 0;
            case Alu.LAZY_SUB -> Integer.compareUnsigned(destination, source) < 0 ? 1 : 0;
            case Alu.LAZY_LOGIC -> 0;
            // INC and DEC keep the CF before them in the source.
            default -> source;
        };
    }
}
