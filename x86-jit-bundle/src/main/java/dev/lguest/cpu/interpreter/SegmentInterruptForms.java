// The system instructions of a Linux system call's path, compiled: INT n (CD) and IRET
// (CF), MOV to and from a segment register (8E, 8C), PUSH and POP of ES, SS, DS, FS
// and GS (06-1F, 0F A0/A1/A8/A9). Until these, each was handed to the interpreter one
// at a time from compiled code (Executor.execute), which costs writing every changed
// register and the flag record back and reading the registers again after.
//
// The protected-mode work itself (descriptor reads, privilege checks, the gate, the
// stack switch) is the interpreter's own, called from here: Executor.loadSegment,
// InterruptUnit.softwareInterrupt and interruptReturn. What is compiled is only the
// operand plumbing around it, in the interpreter's order of reads, faults and writes:
//  - MOV Sreg, r/m reads its word, then loads the register. A data segment load
//    changes no compiled assumption: every compiled access tests the segment's flat
//    bit when it runs (from the block's ACCESS local, read again after the load:
//    JitRuntime.access), and SS's size is read by each stack access. CS is never
//    loaded this way (#UD, left to the interpreter), and POP SS ends its block
//    (OpcodeTable). Setting a descriptor's accessed bit is a store, which may drop
//    this block's code: the block then returns.
//  - POP Sreg reads the top of the stack and works out the new ESP before the load
//    (Executor.popSegment), and ESP changes only after it: a fault in the load
//    (#GP, #NP, #SS, #PF on the descriptor table) leaves ESP as it was.
//  - INT n and IRET work on the whole state (they push or pop EFLAGS, EIP, ESP and
//    may change CPL, CS and SS), so the block's state goes to the CPU first, exactly
//    as for the interpreter, and the block ends after them. A fault they raise finds
//    EIP at their start and the retired count before them, and whatever they changed
//    before it, as in the interpreter (no handler writes the block's state back over it).
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.BlockTranslator.CD_CPU;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_void;

import dev.lguest.api.cpu.X86;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;

final class SegmentInterruptForms {
    private static final ClassDesc CD_SELF = ClassDesc.of("dev.lguest.cpu.interpreter.SegmentInterruptForms");
    private static final MethodTypeDesc MTD_CPU_INT_INT = MethodTypeDesc.of(CD_void, CD_CPU, CD_int, CD_int);

    private SegmentInterruptForms() {
    }

    static void register() {
        BlockTranslator.addForm(0x8e, in -> in.reg <= Segments.GS && in.reg != Segments.CS, 0, false,
                SegmentInterruptForms::moveToSegment);
        BlockTranslator.addForm(0x8c, in -> in.reg <= Segments.GS, 0, false,
                (e, in) -> e.storeOperand(in, in.mod == 3 ? in.operandSize() : 2, () -> selector(e, in.reg)));
        for (int opcode : new int[] {0x06, 0x0e, 0x16, 0x1e, 0x1a0, 0x1a8}) {
            int segment = segmentOf(opcode);
            BlockTranslator.addForm(opcode, in -> true, 0, false,
                    (e, in) -> e.push(in.operandSize(), () -> selector(e, segment)));
        }
        for (int opcode : new int[] {0x07, 0x17, 0x1f, 0x1a1, 0x1a9}) {
            int segment = segmentOf(opcode);
            BlockTranslator.addForm(opcode, in -> true, 0, false, (e, in) -> popSegment(e, in, segment));
        }
        BlockTranslator.addForm(0xcd, in -> true, 0, true, (e, in) -> {
            e.stateToCpu(in);
            e.code.aload(Emitter.CPU).loadConstant(in.immediate & 0xff).loadConstant(in.next)
                    .invokestatic(CD_SELF, "softwareInterrupt", MTD_CPU_INT_INT);
            e.code.return_();
        });
        BlockTranslator.addForm(0xcf, in -> true, 0, true, (e, in) -> {
            e.stateToCpu(in);
            e.code.aload(Emitter.CPU).loadConstant(in.operandSize()).loadConstant(in.next)
                    .invokestatic(CD_SELF, "interruptReturn", MTD_CPU_INT_INT);
            e.code.return_();
        });
    }

    /** The segment register a PUSH or POP of one names: bits 3-5 of the opcode (ES, CS, SS, DS, FS, GS). */
    private static int segmentOf(int opcode) {
        return (opcode & 0xff) >>> 3 & 7;
    }

    /** Pushes segment register s's selector. */
    private static void selector(Emitter e, int s) {
        e.code.aload(Emitter.CPU).loadConstant(s)
                .invokestatic(CD_SELF, "selector", MethodTypeDesc.of(CD_int, CD_CPU, CD_int));
    }

    private static void moveToSegment(Emitter e, Instruction in) {
        e.loadOperand(in, 2);
        e.code.istore(Emitter.SCRATCH);
        loadSegment(e, in, in.reg);
        e.closeFaultRange();
        e.exitIfBlockEnded(in);
    }

    private static void popSegment(Emitter e, Instruction in, int segment) {
        int size = in.operandSize();
        e.peek(0, size);
        e.code.loadConstant(0xffff).iand().istore(Emitter.SCRATCH);
        e.stackPointerPlus(() -> e.loadReg(X86.ESP), size);
        e.code.istore(Emitter.SCRATCH2);
        loadSegment(e, in, segment);
        e.closeFaultRange();
        e.code.iload(Emitter.SCRATCH2);
        e.commitReg(X86.ESP);
        e.exitIfBlockEnded(in);
    }

    /** Loads segment register {@code segment} with the selector in SCRATCH (may fault). */
    private static void loadSegment(Emitter e, Instruction in, int segment) {
        e.mayFault();
        e.code.aload(Emitter.CPU).loadConstant(segment).iload(Emitter.SCRATCH)
                .invokestatic(CD_SELF, "loadSegment", MTD_CPU_INT_INT);
        // The segment's flat bits may have changed: the accesses after it test the new ones.
        e.loadAccess();
    }

    // ---- what compiled code calls: the interpreter's own work ----

    static int selector(InterpreterCpu cpu, int s) {
        return cpu.segments.cache[s].selector();
    }

    static void loadSegment(InterpreterCpu cpu, int segment, int selector) {
        cpu.executor.loadSegment(segment, selector);
    }

    /** INT n, with the CPU's state at its start: the gate's checks and the entry (which count it retired). */
    static void softwareInterrupt(InterpreterCpu cpu, int vector, int next) {
        cpu.interrupts.softwareInterrupt(vector, next);
    }

    /** IRET, with the CPU's state at its start: the return, then it counts as retired. */
    static void interruptReturn(InterpreterCpu cpu, int size, int next) {
        cpu.interrupts.interruptReturn(size, next);
        cpu.retired++;
    }
}
