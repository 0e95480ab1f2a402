// The code generation for one block: what BlockTranslator's forms emit through. It
// keeps the block's state at translation time (which guest registers sit in JVM
// locals and which of them changed, the kind of the pending flag record, how many
// instructions are already counted) and knows how to leave the block from any point
// with the interpreter's state exact: the normal end, a taken branch, an instruction
// handed to the interpreter, a fault (one exception handler per faulting part).
// The forms themselves (what each instruction does) live in BlockTranslator's table
// and the form files beside it; the shared pieces of emission (registers, memory
// operands, lazy flags, branches, exits) live here.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.BlockTranslator.CD_ALU;
import static dev.lguest.cpu.interpreter.BlockTranslator.CD_COMPILED;
import static dev.lguest.cpu.interpreter.BlockTranslator.CD_CPU;
import static dev.lguest.cpu.interpreter.BlockTranslator.CD_EXECUTOR;
import static dev.lguest.cpu.interpreter.BlockTranslator.CD_INSTRUCTION;
import static dev.lguest.cpu.interpreter.BlockTranslator.CD_INT_ARRAY;
import static dev.lguest.cpu.interpreter.BlockTranslator.CD_LONG_ARRAY;
import static dev.lguest.cpu.interpreter.BlockTranslator.CD_RUNTIME;
import static dev.lguest.cpu.interpreter.BlockTranslator.CD_SEGMENT;
import static dev.lguest.cpu.interpreter.BlockTranslator.compiles;
import static dev.lguest.cpu.interpreter.BlockTranslator.formFor;
import static dev.lguest.cpu.interpreter.BlockTranslator.leavesBlock;
import static dev.lguest.cpu.interpreter.BlockTranslator.registersUsed;
import static java.lang.constant.ConstantDescs.CD_boolean;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;
import static java.lang.constant.ConstantDescs.CD_void;

import dev.lguest.api.cpu.X86;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;
import java.util.ArrayList;
import java.util.List;

final class Emitter {
    // Local variable slots: the parameters (the budget is a long: two slots), then ours.
    static final int THIS = 0, CPU = 1, BUDGET = 2, GPR = 4, REG0 = 5, RESULT = 13, DESTINATION = 14,
            SOURCE = 15, TEMP = 16, TEMP2 = 17, TEMP3 = 18, THROWN = 19, ALU = 20;
    /**
     * Locals of the form files: the six status flags when they are eager (FLAGS), the
     * flags an instruction computes before its commit (NEW_FLAGS), a read-modify-write's
     * linear address and new value, a carry read before the flags change, scratch.
     */
    static final int FLAGS = 21, NEW_FLAGS = 22, UPDATE_LINEAR = 23, NEW_VALUE = 24, CARRY = 25,
            SCRATCH = 26, SCRATCH2 = 27, SCRATCH3 = 28, SCRATCH4 = 29;
    /**
     * The retired count at the instruction boundary {@code committed} (a long: two
     * slots): kept in a local so a loop does not update cpu.retired every pass; the
     * field is set from it wherever the block is left or the interpreter runs one
     * instruction. The budget parameter's slots hold the count the method may not pass.
     */
    static final int RETIRED = 30, LIMIT = BUDGET;
    /** The kind of the flag record in the locals where it is FLAGS_DYNAMIC (LoopFlags). */
    static final int FLAG_KIND = 32;
    /** CF (0 or 1) at a loop head where it is the only flag seen (FLAGS_CARRY_ONLY). */
    static final int LOOP_CARRY = 33;
    /**
     * The access kind and the flat segments, packed (JitRuntime.access): what every
     * memory access's fast path tests, read on entry and again after whatever may
     * change them (an instruction the interpreter ran, a segment load).
     */
    static final int ACCESS = 34;
    /**
     * At most how many instructions a block's loops run before they leave the block
     * for the run loop, which sees a pending interrupt() and comes back: the limit
     * the budget check goes by (LIMIT) is at most this far past the count at entry.
     * The loop itself never reads that volatile field: reading it on every pass, even
     * every 256th, kept HotSpot from keeping what the loop reads from the heap (the
     * TLB, the RAM segment, the CPU's fields) in registers across the back edge, and
     * intloop's sieve ran 20-25% slower (IntLoopBenchmark); counting passes in a local
     * of its own cost the CRC loop 5-10%. 65,536 instructions are well under a
     * millisecond; one way out and back in per that many costs little.
     */
    static final long LOOPED_MOST = 1 << 16;
    /**
     * Whether a jump back to an instruction after the block's start also loops inside
     * the method (lguest.jit.innerLoops; off by default: with it on,
     * benchmarks/cpu-benchmark's JMH part measured 5% slower at load ~25; intloop's
     * sieve, whose three blocks become one method with nested loops, ran the same once
     * warm (IntLoopBenchmark, 60 rounds: 0.86-0.97 ns per instruction against
     * 0.86-0.87) and slower in 15-round passes (1.6-1.9 against 1.2-1.4, load ~8): the
     * jumps it saves come once per prime found, some 18,000 in 3.6 million
     * instructions a round, while the one larger method spends longer in HotSpot's
     * interpreter and compilers before it runs compiled). Off, such a jump leaves the
     * block and the block starting at its target, compiled on its own, loops there.
     * Read when a block is translated.
     */
    static volatile boolean innerLoops = Boolean.getBoolean("lguest.jit.innerLoops");
    static final int FLAGS_UNKNOWN = -1;
    /** The flag record is in the locals, its kind in the FLAG_KIND local (a loop head: LoopFlags). */
    static final int FLAGS_DYNAMIC = -2;
    /** The flag kind where the six status flags sit, worked out, in the FLAGS local. */
    static final int FLAGS_EAGER = Alu.EAGER;
    /**
     * A byte or word CMP, lazily (NarrowCompare): DESTINATION and SOURCE hold the two
     * operands zero-extended, RESULT their 32-bit difference. The Alu has no such kind:
     * where the record leaves the locals its six flags are worked out (Alu.subStatus).
     */
    static final int FLAGS_SUB8 = -3, FLAGS_SUB16 = -4;
    /**
     * At a loop head where nothing can see any flag but CF before all of them are
     * replaced (FlagLiveness.liveAt): only CF came along, in LOOP_CARRY. Nothing may ask
     * for the other flags (the translation fails if it does: a translator bug).
     */
    static final int FLAGS_CARRY_ONLY = -5;

    final CodeBuilder code;
    final Block block;
    final Instruction[] instructions;

    /** Registers the block's compiled instructions use: their locals always hold the current value. */
    final int used;
    /** Registers changed since they were read. */
    int dirty;
    /**
     * Instructions some compiled JMP or Jcc of the block jumps back to (by index): a
     * taken jump to one stays in the method (a JVM loop), see jumpWithin.
     */
    final boolean[] jumpTargets;
    /** Whether any instruction is such a target (the registers are then all written back on leaving). */
    final boolean loops;
    /** The label of each jump target's code, bound when it is emitted. */
    final Label[] targetLabels;
    /** Whether the status flags each instruction sets are never seen (FlagLiveness). */
    private final boolean[] deadFlags;
    /** The Alu kind of the pending flags in the flag locals, or FLAGS_UNKNOWN (in the Alu). */
    int flagKind = FLAGS_UNKNOWN;
    /** The instruction boundary (an index) the RETIRED local counts up to. */
    int committed;
    /** The instruction being emitted. */
    int index;

    /** A fault handler to emit after the code: the state at its instruction's start. */
    record Handler(Label start, Label end, Label handler, int index, int dirty, int flagKind, int committed) {
    }

    final List<Handler> handlers = new ArrayList<>();
    /** Where the current instruction's faulting part began, and whether it holds a call that may fault. */
    Label faultStart;
    boolean mayFault;

    /**
     * The blocks compiled into this method, the entry first: one alone, or a region's
     * (CompiledRegion), whose instructions follow each other in {@code instructions}.
     * A jump or fall-through to another member's first instruction is a join point
     * like a loop's head, reached only by jumps: the code before it always left.
     */
    final Block[] members;
    /** Whether there is more than one member (the method then starts with CompiledRegion.holds). */
    final boolean region;
    /** Per instruction: the index of its member's first instruction, and one past its last. */
    private final int[] memberFirst, memberEnd;

    /** How many instructions of each member are compiled: a region's members may be cut (RegionFinder). */
    private final int[] lengths;

    Emitter(CodeBuilder code, Block block) {
        this(code, new Block[] {block}, new int[] {block.code.length});
    }

    Emitter(CodeBuilder code, Block[] members, int[] lengths) {
        this.code = code;
        this.block = members[0];
        this.members = members;
        this.lengths = lengths;
        this.region = members.length > 1;
        this.instructions = concatenation(members, lengths);
        this.memberFirst = new int[instructions.length];
        this.memberEnd = new int[instructions.length];
        int at = 0;
        for (int m = 0; m < members.length; m++) {
            int end = at + lengths[m];
            for (int k = at; k < end; k++) {
                memberFirst[k] = at;
                memberEnd[k] = end;
            }
            at = end;
        }
        int registers = 0;
        for (Instruction in : instructions) {
            registers |= registersUsed(in);
        }
        this.used = registers;
        this.jumpTargets = new boolean[instructions.length];
        boolean any = region;
        for (int k = 0; k < instructions.length; k++) {
            int target = targetWithin(instructions[k], k);
            if (target >= 0) {
                jumpTargets[target] = true;
                any = true;
            }
            if (k > 0 && memberFirst[k] == k) {
                jumpTargets[k] = true;
            }
        }
        this.loops = any;
        this.targetLabels = new Label[instructions.length];
        this.deadFlags = FlagLiveness.deadAfter(instructions, jumpTargets);
    }

    /**
     * Whether nothing can see the status flags the current instruction sets: its form
     * may then compute only its value and leave the flag locals as they are.
     */
    boolean flagsDead() {
        return deadFlags[index];
    }

    /** The members' instructions one after the other (the code array the handlers and the interpreter index). */
    static Instruction[] concatenation(Block[] members, int[] lengths) {
        if (members.length == 1 && lengths[0] == members[0].code.length) {
            return members[0].code;
        }
        List<Instruction> all = new ArrayList<>();
        for (int m = 0; m < members.length; m++) {
            all.addAll(List.of(members[m].code).subList(0, lengths[m]));
        }
        return all.toArray(new Instruction[0]);
    }

    /** The index of the member that starts at this EIP, or -1. */
    private int memberAt(int eip) {
        for (int k = 0, at = 0; k < members.length; at += lengths[k], k++) {
            if (members[k].eip == eip) {
                return at;
            }
        }
        return -1;
    }

    /** Whether the instruction at {@code at} starts a member other than the entry: reached by jumps only. */
    private boolean startsLaterMember(int at) {
        return at > 0 && memberFirst[at] == at;
    }

    /**
     * A region's way in: while CompiledRegion.holds does not (another member's bytes
     * changed behind the CPU, the CS limit or base changed, a debug register armed),
     * the entry block's own translation runs instead.
     */
    private void regionGuard() {
        Label holds = code.newLabel();
        code.aload(CPU).aload(THIS).checkcast(BlockTranslator.CD_REGION)
                .invokestatic(BlockTranslator.CD_REGION, "holds",
                        MethodTypeDesc.of(CD_boolean, CD_CPU, BlockTranslator.CD_REGION))
                .ifne(holds);
        code.aload(THIS).checkcast(BlockTranslator.CD_REGION)
                .getfield(BlockTranslator.CD_REGION, "fallback", CD_COMPILED)
                .aload(CPU).lload(BUDGET)
                .invokevirtual(CD_COMPILED, "run", MethodTypeDesc.of(CD_void, CD_CPU, CD_long))
                .return_();
        code.labelBinding(holds);
    }

    void emitBlock() {
        if (region) {
            regionGuard();
        }
        code.aload(CPU).getfield(CD_CPU, "gpr", CD_INT_ARRAY).astore(GPR);
        // Every local starts defined, so every handler's frame is simple.
        for (int slot = REG0; slot <= TEMP3; slot++) {
            code.iconst_0().istore(slot);
        }
        for (int slot = FLAGS; slot <= SCRATCH4; slot++) {
            code.iconst_0().istore(slot);
        }
        code.iconst_0().istore(FLAG_KIND);
        code.iconst_0().istore(LOOP_CARRY);
        code.aconst_null().astore(THROWN).aconst_null().astore(ALU);
        loadRegisters();
        loadAccess();
        code.aload(CPU).getfield(CD_CPU, "retired", CD_long).dup2().lstore(RETIRED).lload(BUDGET);
        if (loops) {
            code.loadConstant(LOOPED_MOST).invokestatic(ClassDesc.of("java.lang.Math"), "min",
                    MethodTypeDesc.of(CD_long, CD_long, CD_long));
        }
        code.ladd().lstore(LIMIT);
        for (index = 0; index < instructions.length; index++) {
            Instruction in = instructions[index];
            if (jumpTargets[index]) {
                joinPoint();
            }
            if (compiles(in)) {
                faultStart = code.newBoundLabel();
                mayFault = false;
                handlerStateAtStart();
                formFor(in).emit(this, in);
                closeFaultRange();
            } else {
                interpret(in);
            }
            if (index == memberEnd[index] - 1 && !endsBlock(in)) {
                fallThrough(in);
            }
        }
        for (Handler h : handlers) {
            emitHandler(h);
        }
    }

    /**
     * After a member's last instruction, which does not leave by itself: on to the
     * member starting right after it (a goto, while the budget holds), else out.
     */
    private void fallThrough(Instruction last) {
        int target = memberAt(last.next);
        if (target < 0 || !goWithin(target)) {
            exit(index + 1, () -> code.loadConstant(last.next));
        }
    }

    /** The last instruction left the block in all paths (a jump, call, return, or the interpreter). */
    private boolean endsBlock(Instruction in) {
        return !compiles(in) || leavesBlock(in);
    }

    /**
     * The index of the block's instruction at or before it that a compiled Jcc or JMP
     * goes back to, or -1 (elsewhere, or forward). Jumps forward leave the block as
     * before: staying in the method made loops entered from the side (irreducible for
     * HotSpot) and measured slower (benchmarks/cpu-benchmark's JMH part, 5-8%).
     */
    private int targetWithin(Instruction in, int at) {
        if (!compiles(in) || (in.handler != Executor.JCC && in.handler != Executor.JMP)) {
            return -1;
        }
        int target = nearTarget(in, in.next + in.immediate);
        int member = memberAt(target);
        if (!innerLoops || member >= 0) {
            return member;
        }
        for (int k = memberFirst[at]; k < memberEnd[at] && instructions[k].start <= in.start; k++) {
            if (instructions[k].start == target) {
                return k;
            }
        }
        return -1;
    }

    /**
     * Binds the label of a jump target: every way into it (the straight line and the
     * jumps) arrives with the same translation-time state: the instructions before it
     * counted in cpu.retired, the flag record in the Alu, every register possibly
     * changed (written back on leaving).
     */
    private void joinPoint() {
        // A later member of a region is reached by jumps only, each bringing what the
        // kind chosen below says; the straight line into any other target brings it too.
        boolean jumpsOnly = startsLaterMember(index);
        if (jumpsOnly) {
            committed = index;
        } else {
            advanceRetired(index);
        }
        if (FlagLiveness.deadAt(instructions, index, memberEnd[index])) {
            if (!jumpsOnly) {
                writeBack(0, flagKind);
            }
            flagKind = FLAGS_UNKNOWN;
        } else if (carryOnlyAt(index)) {
            if (!jumpsOnly) {
                carryToHead();
            }
            flagKind = FLAGS_CARRY_ONLY;
        } else {
            if (!jumpsOnly) {
                recordToHead();
            }
            flagKind = FLAGS_DYNAMIC;
        }
        dirty = used;
        code.labelBinding(targetLabel(index));
    }

    /** The label of jump target {@code target}, made when first asked for (a later member's start is bound when emitted). */
    private Label targetLabel(int target) {
        if (targetLabels[target] == null) {
            targetLabels[target] = code.newLabel();
        }
        return targetLabels[target];
    }

    /** Whether CF is the only flag the code from jump target {@code target} may see (a CF-only join). */
    private boolean carryOnlyAt(int target) {
        return (FlagLiveness.liveAt(instructions, target, memberEnd[target]) & ~X86.CF) == 0;
    }

    /** On a way into a CF-only join: CF as the flags stand into LOOP_CARRY. */
    private void carryToHead() {
        pushCarry();
        code.istore(LOOP_CARRY);
    }

    /**
     * On a way into a join with the whole record (FLAGS_DYNAMIC): the record into the
     * flag locals with its kind (LoopFlags); a narrow CMP's as six eager flags, since
     * the Alu's kinds, which FLAG_KIND holds, have none for it. Leaves flagKind as it is.
     */
    private void recordToHead() {
        if (flagKind == FLAGS_SUB8 || flagKind == FLAGS_SUB16) {
            pushStatus();
            code.istore(FLAGS);
            LoopFlags.emitToLocals(code, FLAGS_EAGER);
        } else {
            requireWholeRecord();
            LoopFlags.emitToLocals(code, flagKind);
        }
    }

    /** A translator bug, found at translation time: code that needs flags a CF-only join did not bring. */
    private void requireWholeRecord() {
        if (flagKind == FLAGS_CARRY_ONLY) {
            throw new IllegalStateException("flags other than CF asked for after a CF-only join at "
                    + Integer.toHexString(instructions[index].start));
        }
    }

    // ---- the state at instruction boundaries ----

    private int pendingDirty, pendingFlagKind, pendingCommitted;

    private void handlerStateAtStart() {
        pendingDirty = dirty;
        pendingFlagKind = flagKind;
        pendingCommitted = committed;
    }

    /** Ends the current instruction's faulting part: code after it cannot fault. */
    void closeFaultRange() {
        if (faultStart == null || !mayFault) {
            faultStart = null;
            return;
        }
        Label end = code.newBoundLabel();
        handlers.add(new Handler(faultStart, end, code.newLabel(), index, pendingDirty, pendingFlagKind,
                pendingCommitted));
        faultStart = null;
    }

    private void emitHandler(Handler h) {
        code.exceptionCatchAll(h.start(), h.end(), h.handler());
        code.labelBinding(h.handler());
        code.astore(THROWN);
        writeBack(h.dirty(), h.flagKind());
        storeRetired(h.index() - h.committed());
        code.aload(CPU).loadConstant(instructions[h.index()].start).putfield(CD_CPU, "eip", CD_int);
        // The run loop blames an interpreter bug on executor.in.
        code.aload(CPU).getfield(CD_CPU, "executor", CD_EXECUTOR);
        code.aload(THIS).getfield(CD_COMPILED, "code", CD_INSTRUCTION.arrayType())
                .loadConstant(h.index()).aaload();
        code.putfield(CD_EXECUTOR, "in", CD_INSTRUCTION);
        code.aload(THROWN).athrow();
    }

    /** Writes the changed registers and the flag record back into the CPU. */
    private void writeBack(int dirtyRegisters, int kind) {
        for (int r = 0; r < 8; r++) {
            if ((dirtyRegisters & (1 << r)) != 0) {
                code.aload(GPR).loadConstant(r).iload(REG0 + r).iastore();
            }
        }
        if (kind == FLAGS_CARRY_ONLY) {
            throw new IllegalStateException("a CF-only join's flags leaving the block at "
                    + Integer.toHexString(instructions[index].start));
        }
        if (kind == FLAGS_SUB8 || kind == FLAGS_SUB16) {
            code.aload(CPU).dup().getfield(CD_CPU, "eflags", CD_int).loadConstant(~Alu.STATUS).iand();
            NarrowCompare.emitStatus(code, kind);
            code.ior().putfield(CD_CPU, "eflags", CD_int);
            code.aload(CPU).getfield(CD_CPU, "alu", CD_ALU).loadConstant(Alu.EAGER)
                    .putfield(CD_ALU, "pending", CD_int);
        } else if (kind == FLAGS_EAGER) {
            code.aload(CPU).dup().getfield(CD_CPU, "eflags", CD_int).loadConstant(~Alu.STATUS).iand()
                    .iload(FLAGS).ior().putfield(CD_CPU, "eflags", CD_int);
            code.aload(CPU).getfield(CD_CPU, "alu", CD_ALU).loadConstant(Alu.EAGER)
                    .putfield(CD_ALU, "pending", CD_int);
        } else if (kind == FLAGS_DYNAMIC) {
            LoopFlags.emitToAlu(code, ALU);
        } else if (kind != FLAGS_UNKNOWN) {
            code.aload(CPU).getfield(CD_CPU, "alu", CD_ALU).astore(ALU);
            code.aload(ALU).loadConstant(kind).putfield(CD_ALU, "pending", CD_int);
            code.aload(ALU).iload(RESULT).putfield(CD_ALU, "lastResult", CD_int);
            code.aload(ALU).iload(DESTINATION).putfield(CD_ALU, "lastDestination", CD_int);
            code.aload(ALU).iload(SOURCE).putfield(CD_ALU, "lastSource", CD_int);
        }
    }

    /** Puts the block's flag record into the Alu, for code that reads the CPU's flags (the locals keep it too). */
    void flagsToCpu() {
        writeBack(0, flagKind);
    }

    /** After code that set all six status flags in cpu.eflags (the Alu EAGER): they become the block's. */
    void eagerFlagsFromCpu() {
        code.aload(CPU).getfield(CD_CPU, "eflags", CD_int).loadConstant(Alu.STATUS).iand().istore(FLAGS);
        flagKind = FLAGS_EAGER;
    }

    /** Sets cpu.retired: the RETIRED local and {@code count} instructions after its boundary. */
    private void storeRetired(int count) {
        code.aload(CPU).lload(RETIRED);
        if (count != 0) {
            code.loadConstant((long) count).ladd();
        }
        code.putfield(CD_CPU, "retired", CD_long);
    }

    /** Moves the RETIRED local's boundary on to instruction {@code at} (no field written). */
    private void advanceRetired(int at) {
        if (at != committed) {
            code.lload(RETIRED).loadConstant((long) (at - committed)).ladd().lstore(RETIRED);
            committed = at;
        }
    }

    /**
     * Leaves the block with {@code count} instructions of it retired and EIP set to
     * what {@code target} pushes.
     */
    void exit(int count, Runnable target) {
        writeBack(dirty, flagKind);
        storeRetired(count - committed);
        code.aload(CPU);
        target.run();
        code.putfield(CD_CPU, "eip", CD_int);
        code.return_();
    }

    /** After a store: the block returns if the store dropped its code (Executor.runBlock). */
    void exitIfBlockEnded(Instruction in) {
        Label goOn = code.newLabel();
        code.aload(CPU).getfield(CD_CPU, "blockEnded", CD_boolean).ifeq(goOn);
        exit(index + 1, () -> code.loadConstant(in.next));
        code.labelBinding(goOn);
    }

    // ---- an instruction the interpreter runs ----

    private void interpret(Instruction in) {
        if (JitReport.COUNTING) {
            code.aload(THIS).getfield(CD_COMPILED, "code", CD_INSTRUCTION.arrayType()).loadConstant(index).aaload()
                    .invokestatic(JitReport.CD_REPORT, "interpreted", MethodTypeDesc.of(CD_void, CD_INSTRUCTION));
        }
        stateToCpu(in);
        code.aload(CPU).getfield(CD_CPU, "executor", CD_EXECUTOR);
        code.aload(THIS).getfield(CD_COMPILED, "code", CD_INSTRUCTION.arrayType()).loadConstant(index).aaload();
        code.invokevirtual(CD_EXECUTOR, "execute", MethodTypeDesc.of(CD_void, CD_INSTRUCTION));
        // execute() committed EIP and the retirement (or raised the fault itself).
        advanceRetired(index + 1);
        dirty = loops ? used : 0;
        flagKind = FLAGS_UNKNOWN;
        if (index == memberEnd[index] - 1) {
            code.return_();
            return;
        }
        Label goOn = code.newLabel();
        Label leave = code.newLabel();
        code.aload(CPU).getfield(CD_CPU, "eip", CD_int).loadConstant(in.next).if_icmpne(leave);
        code.aload(CPU).getfield(CD_CPU, "blockEnded", CD_boolean).ifeq(goOn);
        code.labelBinding(leave);
        code.return_();
        code.labelBinding(goOn);
        loadRegisters();
        loadAccess();
    }

    /** Reads the access kind and flat segments into ACCESS (JitRuntime.access). */
    void loadAccess() {
        code.aload(CPU).invokestatic(CD_RUNTIME, "access", MethodTypeDesc.of(CD_int, CD_CPU)).istore(ACCESS);
    }

    /**
     * Puts the whole state into the CPU as the interpreter finds it at this
     * instruction's start (registers, flag record, retired count, EIP, executor.in):
     * before the interpreter runs it, or a helper that works on the CPU's state as a
     * whole and, like the interpreter, leaves it as it stands if it faults (no handler).
     */
    void stateToCpu(Instruction in) {
        writeBack(dirty, flagKind);
        storeRetired(index - committed);
        code.aload(CPU).loadConstant(in.start).putfield(CD_CPU, "eip", CD_int);
        code.aload(CPU).getfield(CD_CPU, "executor", CD_EXECUTOR);
        code.aload(THIS).getfield(CD_COMPILED, "code", CD_INSTRUCTION.arrayType()).loadConstant(index).aaload();
        code.putfield(CD_EXECUTOR, "in", CD_INSTRUCTION);
    }

    /** Reads every register the block uses into its local. */
    private void loadRegisters() {
        for (int r = 0; r < 8; r++) {
            if ((used & (1 << r)) != 0) {
                code.aload(GPR).loadConstant(r).iaload().istore(REG0 + r);
            }
        }
    }

    void mayFault() {
        mayFault = true;
    }

    // ---- registers ----

    void loadReg(int r) {
        if ((used & (1 << r)) == 0) {
            throw new IllegalStateException("register " + r + " missing from registersUsed");
        }
        code.iload(REG0 + r);
    }

    /** Stores the value on the stack into a register: the instruction's commit. */
    void commitReg(int r) {
        closeFaultRange();
        if ((used & (1 << r)) == 0) {
            throw new IllegalStateException("register " + r + " missing from registersUsed");
        }
        code.istore(REG0 + r);
        dirty |= 1 << r;
    }

    /** The byte register r (AL, CL, DL, BL, AH, CH, DH, BH) as in InterpreterCpu.reg. */
    void loadByteReg(int r) {
        if (r < 4) {
            loadReg(r);
            code.loadConstant(0xff).iand();
        } else {
            loadReg(r - 4);
            code.loadConstant(8).iushr().loadConstant(0xff).iand();
        }
    }

    /** Stores the byte on the stack into byte register r, keeping the other bits. */
    void commitByteReg(int r) {
        closeFaultRange();
        int full = r < 4 ? r : r - 4;
        int shift = r < 4 ? 0 : 8;
        code.loadConstant(0xff).iand();
        if (shift != 0) {
            code.loadConstant(shift).ishl();
        }
        loadReg(full);
        code.loadConstant(~(0xff << shift)).iand().ior();
        commitReg(full);
    }

    // ---- memory operands ----

    void effectiveAddress(Instruction in) {
        code.loadConstant(in.displacement);
        if (in.base >= 0) {
            loadReg(in.base);
            code.iadd();
        }
        if (in.index >= 0) {
            loadReg(in.index);
            if (in.scale != 0) {
                code.loadConstant(in.scale).ishl();
            }
            code.iadd();
        }
        if (!in.address32) {
            code.loadConstant(0xffff).iand();
        }
    }

    /**
     * Calls JitRuntime's memory access {@code name} of type {@code type} with the
     * ACCESS local and the block's RAM view appended: its class's RAM and RAM_ENTRIES
     * constants (BlockTranslator.RAM), which HotSpot folds into the inlined access.
     */
    void invokeAccess(String name, MethodTypeDesc type) {
        ClassDesc self = BlockTranslator.className(block);
        code.iload(ACCESS);
        code.getstatic(self, BlockTranslator.RAM, CD_SEGMENT).getstatic(self, BlockTranslator.RAM_ENTRIES, CD_LONG_ARRAY);
        code.invokestatic(CD_RUNTIME, name,
                type.insertParameterTypes(type.parameterCount(), CD_int, CD_SEGMENT, CD_LONG_ARRAY));
    }

    /** Pushes a 32-bit r/m operand's value. */
    void loadRm32(Instruction in) {
        if (in.mod == 3) {
            loadReg(in.rm);
        } else {
            code.aload(CPU).loadConstant(in.segment());
            effectiveAddress(in);
            mayFault();
            invokeAccess("read32", MethodTypeDesc.of(CD_int, CD_CPU, CD_int, CD_int));
        }
    }

    /** Pushes an 8- or 16-bit r/m operand's value, zero-extended. */
    void loadRm(Instruction in, int size) {
        if (in.mod == 3) {
            if (size == 1) {
                loadByteReg(in.rm);
            } else {
                loadReg(in.rm);
                code.loadConstant(0xffff).iand();
            }
        } else {
            code.aload(CPU).loadConstant(in.segment());
            effectiveAddress(in);
            mayFault();
            invokeAccess(size == 1 ? "read8" : "read16",
                    MethodTypeDesc.of(CD_int, CD_CPU, CD_int, CD_int));
        }
    }

    void storeRm32(Instruction in, Runnable value) {
        if (in.mod == 3) {
            value.run();
            commitReg(in.rm);
        } else {
            code.aload(CPU).loadConstant(in.segment());
            effectiveAddress(in);
            value.run();
            mayFault();
            invokeAccess("write32", MethodTypeDesc.of(CD_void, CD_CPU, CD_int, CD_int, CD_int));
            closeFaultRange();
            exitIfBlockEnded(in);
        }
    }

    void storeRm8(Instruction in) {
        if (in.mod == 3) {
            loadByteReg(in.reg);
            commitByteReg(in.rm);
        } else {
            code.aload(CPU).loadConstant(in.segment());
            effectiveAddress(in);
            loadByteReg(in.reg);
            mayFault();
            invokeAccess("write8", MethodTypeDesc.of(CD_void, CD_CPU, CD_int, CD_int, CD_int));
            closeFaultRange();
            exitIfBlockEnded(in);
        }
    }

    // ---- arithmetic and flags ----

    /**
     * With destination and source on the stack: computes the operation (ADD, OR,
     * AND, SUB, XOR or CMP), notes the flags, and stores the result into register
     * {@code target} unless it is CMP (or target is -1, for TEST).
     */
    void arithmeticToReg(int operation, int target) {
        if (flagsDead()) {
            // Nothing sees the flags (FlagLiveness): the value alone, or nothing at all
            // for CMP and TEST. Fewer bytecodes: the loops run sooner while HotSpot's
            // interpreter runs them, and compile sooner.
            closeFaultRange();
            if (operation == Alu.CMP || target < 0) {
                code.pop2();
                return;
            }
            operate(operation);
            commitReg(target);
            return;
        }
        code.istore(TEMP2).istore(TEMP);
        closeFaultRange();
        flagRecord(operation, TEMP, TEMP2);
        if (operation != Alu.CMP && target >= 0) {
            code.iload(RESULT);
            commitReg(target);
        }
    }

    /** The operation (ADD, OR, AND, SUB, XOR or CMP) on the two ints on the stack. */
    private void operate(int operation) {
        switch (operation) {
            case Alu.ADD -> code.iadd();
            case Alu.SUB, Alu.CMP -> code.isub();
            case Alu.OR -> code.ior();
            case Alu.AND -> code.iand();
            case Alu.XOR -> code.ixor();
            default -> throw new IllegalArgumentException("no lazy flags for ALU operation " + operation);
        }
    }

    /** RESULT, DESTINATION and SOURCE of an operation on the two int locals, and its kind. */
    private void flagRecord(int operation, int destination, int source) {
        code.iload(destination).iload(source);
        operate(operation);
        code.istore(RESULT);
        code.iload(destination).istore(DESTINATION);
        code.iload(source).istore(SOURCE);
        flagKind = switch (operation) {
            case Alu.ADD -> Alu.LAZY_ADD;
            case Alu.SUB, Alu.CMP -> Alu.LAZY_SUB;
            default -> Alu.LAZY_LOGIC;
        };
    }

    /** ALU operation with an r/m destination; a memory one is read, then written back. */
    void arithmeticToRm(Instruction in, int operation, Runnable source) {
        if (in.mod == 3) {
            loadReg(in.rm);
            source.run();
            arithmeticToReg(operation, in.rm);
        } else if (operation == Alu.CMP) {
            loadRm32(in);
            source.run();
            arithmeticToReg(operation, -1);
        } else {
            code.aload(CPU).loadConstant(in.segment());
            effectiveAddress(in);
            mayFault();
            code.loadConstant(4);
            code.invokestatic(CD_RUNTIME, "linearForUpdate", MethodTypeDesc.of(CD_int, CD_CPU, CD_int, CD_int, CD_int));
            code.istore(TEMP3);
            code.aload(CPU).iload(TEMP3).loadConstant(4);
            invokeAccess("readForUpdate", MethodTypeDesc.of(CD_int, CD_CPU, CD_int, CD_int));
            code.istore(TEMP);
            source.run();
            code.istore(TEMP2);
            // The result is stored before the flag record changes: the store cannot
            // fault (its page was translated for writing), but the record stays exact.
            code.aload(CPU).iload(TEMP3).iload(TEMP).iload(TEMP2);
            operate(operation);
            code.loadConstant(4);
            invokeAccess("writeBack", MethodTypeDesc.of(CD_void, CD_CPU, CD_int, CD_int, CD_int));
            closeFaultRange();
            // Always the flag record: the store may end the block right here (FlagLiveness).
            flagRecord(operation, TEMP, TEMP2);
            exitIfBlockEnded(in);
        }
    }

    /** INC or DEC of a register: CF is kept, as the carry the record holds (Alu.increment32). */
    void increment(int r, int delta) {
        closeFaultRange();
        if (flagsDead()) {
            // Nor is the CF it keeps seen (FlagLiveness): the value alone.
            loadReg(r);
            code.loadConstant(delta).iadd();
            commitReg(r);
            return;
        }
        pushCarry();
        code.istore(SOURCE);
        loadReg(r);
        code.dup().istore(DESTINATION).loadConstant(delta).iadd().dup().istore(RESULT);
        flagKind = delta > 0 ? Alu.LAZY_INC : Alu.LAZY_DEC;
        commitReg(r);
    }

    /** CF (0 or 1) as the flags stand now. */
    void pushCarry() {
        switch (flagKind) {
            case FLAGS_EAGER -> code.iload(FLAGS).iconst_1().iand();
            case FLAGS_DYNAMIC -> LoopFlags.emitCarry(code);
            case FLAGS_UNKNOWN -> code.aload(CPU).getfield(CD_CPU, "alu", CD_ALU)
                    .invokevirtual(CD_ALU, "carry", MethodTypeDesc.of(CD_int));
            case Alu.LAZY_ADD -> code.iload(RESULT).iload(DESTINATION)
                    .invokestatic(CD_RUNTIME, "carryAfterAdd", MethodTypeDesc.of(CD_int, CD_int, CD_int));
            case Alu.LAZY_SUB, FLAGS_SUB8, FLAGS_SUB16 -> code.iload(DESTINATION).iload(SOURCE)
                    .invokestatic(CD_RUNTIME, "carryAfterSubtract", MethodTypeDesc.of(CD_int, CD_int, CD_int));
            case FLAGS_CARRY_ONLY -> code.iload(LOOP_CARRY);
            case Alu.LAZY_LOGIC -> code.iconst_0();
            default -> code.iload(SOURCE);
        }
    }

    /**
     * Jumps to {@code taken} if condition cc holds. The commonest pairs are one JVM
     * compare on the flag record; the rest ask the Alu, given the record first.
     */
    void branchIf(int cc, Label taken) {
        int kind = cc >>> 1;
        boolean negate = (cc & 1) != 0;
        requireWholeRecord();
        if ((flagKind == FLAGS_SUB8 || flagKind == FLAGS_SUB16) && NarrowCompare.branches(cc)) {
            NarrowCompare.emitBranch(this, cc, flagKind, taken);
        } else if (flagKind == Alu.LAZY_SUB && (kind == 1 || kind == 3)) {
            // Unsigned below (or equal): compare with the sign bits flipped.
            code.iload(DESTINATION).loadConstant(Integer.MIN_VALUE).ixor();
            code.iload(SOURCE).loadConstant(Integer.MIN_VALUE).ixor();
            compareBranch(less(kind == 3, negate), taken);
        } else if (flagKind == Alu.LAZY_SUB && (kind == 6 || kind == 7)) {
            code.iload(DESTINATION).iload(SOURCE);
            compareBranch(less(kind == 7, negate), taken);
        } else if (flagKind == FLAGS_EAGER || flagKind == FLAGS_DYNAMIC || flagKind == FLAGS_SUB8
                || flagKind == FLAGS_SUB16) {
            // The six flags worked out in the block (a narrow CMP's from its operands).
            code.loadConstant(cc);
            pushStatus();
            code.invokestatic(CD_ALU, "condition", MethodTypeDesc.of(CD_boolean, CD_int, CD_int));
            code.ifne(taken);
        } else if (flagKind != FLAGS_UNKNOWN && (kind == 2 || kind == 4)) {
            // ZF and SF come straight from the result after every lazy operation.
            code.iload(RESULT);
            if (kind == 2) {
                if (negate) {
                    code.ifne(taken);
                } else {
                    code.ifeq(taken);
                }
            } else if (negate) {
                code.ifge(taken);
            } else {
                code.iflt(taken);
            }
        } else if (flagKind == Alu.LAZY_LOGIC && kind == 7) {
            code.iload(RESULT);
            if (negate) {
                code.ifgt(taken);
            } else {
                code.ifle(taken);
            }
        } else {
            writeBack(0, flagKind);
            code.aload(CPU).getfield(CD_CPU, "alu", CD_ALU).loadConstant(cc)
                    .invokevirtual(CD_ALU, "condition", MethodTypeDesc.of(CD_boolean, CD_int));
            code.ifne(taken);
        }
    }

    enum Cmp { LT, LE, GT, GE }

    /**
     * The int comparison a "less" condition (orEqual: "less or equal") stands for, or
     * with negate its opposite ("greater or equal", "greater").
     */
    static Cmp less(boolean orEqual, boolean negate) {
        if (orEqual) {
            return negate ? Cmp.GT : Cmp.LE;
        }
        return negate ? Cmp.GE : Cmp.LT;
    }

    /** Jumps to {@code taken} if the two ints on the stack compare as {@code cmp} says. */
    void compareBranch(Cmp cmp, Label taken) {
        switch (cmp) {
            case LT -> code.if_icmplt(taken);
            case LE -> code.if_icmple(taken);
            case GT -> code.if_icmpgt(taken);
            default -> code.if_icmpge(taken);
        }
    }

    // ---- control transfers ----

    static int nearTarget(Instruction in, int target) {
        return in.operand32 ? target : target & 0xffff;
    }

    void conditionalJump(Instruction in) {
        faultStart = null; // the condition cannot fault; only a taken branch's limit check
        Label taken = code.newLabel();
        Label notTaken = code.newLabel();
        branchIf(in.opcode & 15, taken);
        code.goto_(notTaken);
        code.labelBinding(taken);
        int target = nearTarget(in, in.next + in.immediate);
        faultStart = code.newBoundLabel();
        checkTarget(target);
        closeFaultRange();
        int flagsNotTaken = flagKind, committedNotTaken = committed;
        if (!jumpWithin(in)) {
            exit(index + 1, () -> code.loadConstant(target));
        }
        flagKind = flagsNotTaken;
        committed = committedNotTaken;
        code.labelBinding(notTaken);
    }

    /**
     * A taken jump back to an instruction of this block (a loop): the instructions so
     * far are committed (retired count, flag record, as at the target's join point)
     * and, while the budget (at most LOOPED_MOST past the count at entry) holds the
     * most the code from the target can run before the next such check (the rest of
     * the block), the code goes on at the target's label; else the code after this
     * leaves the block for the run loop. Does nothing for a jump elsewhere. Returns
     * whether the jump always went on inside (a jump forward, never made now; kept for
     * one).
     */
    private boolean jumpWithin(Instruction in) {
        int target = targetWithin(in, index);
        return target >= 0 && goWithin(target);
    }

    /**
     * jumpWithin's work once the target is known: the instruction at {@code index} is
     * the last one run before it. A region's jump to another member, forward or back,
     * takes the checked way (the budget must hold that member's instructions).
     */
    private boolean goWithin(int target) {
        advanceRetired(index + 1);
        boolean dead = FlagLiveness.deadAt(instructions, target, memberEnd[target]);
        if (target > index && !startsLaterMember(target)) {
            if (dead) {
                writeBack(0, flagKind);
                flagKind = FLAGS_UNKNOWN;
            } else if (carryOnlyAt(target)) {
                carryToHead();
            } else {
                recordToHead();
            }
            // Bound later, when the target is emitted.
            Label forward = targetLabel(target);
            code.goto_(forward);
            return true;
        }
        // One branch is the way out, for the budget and for interrupt() alike: the limit
        // is at most LOOPED_MOST instructions past the block's entry, so a long loop
        // leaves by it regularly and HotSpot's profile sees it taken (a branch never seen
        // taken became an uncommon trap: the boot's gunzip loop went C2, trap, C1 several
        // times when the budget alone led out and interrupts by a second branch).
        Label leave = code.newLabel();
        code.lload(LIMIT).lload(RETIRED).lsub()
                .loadConstant((long) (memberEnd[target] - target)).lcmp().iflt(leave);
        // The way round takes the record to the head in the locals (LoopFlags) unless
        // nothing sees it there (FlagLiveness.deadAt); the way out below keeps it as it is.
        if (dead) {
            // Nothing sees the record at the head.
        } else if (carryOnlyAt(target)) {
            carryToHead();
        } else {
            recordToHead();
        }
        code.goto_(targetLabel(target));
        code.labelBinding(leave);
        return false;
    }

    /**
     * A near branch's #GP(0) when the target lies beyond CS's limit (JitRuntime.checkTarget),
     * left out for a target that starts one of this block's own instructions: a block
     * runs only when all of it lies within the limit of the CS it runs under
     * (InterpreterCpu.currentBlock, and links are kept per CS), and a CS change ends it.
     */
    private void checkTarget(int target) {
        for (Instruction other : instructions) {
            if (other.start == target) {
                return;
            }
        }
        mayFault();
        code.aload(CPU).loadConstant(target)
                .invokestatic(CD_RUNTIME, "checkTarget", MethodTypeDesc.of(CD_void, CD_CPU, CD_int));
    }

    void jump(Instruction in, int rawTarget) {
        int target = nearTarget(in, rawTarget);
        checkTarget(target);
        closeFaultRange();
        if (!jumpWithin(in)) {
            exit(index + 1, () -> code.loadConstant(target));
        }
    }

    /** Two- and three-operand IMUL, operands on the stack: the interpreter's pure function, flags eager. */
    void multiply(int target) {
        multiply(target, 4);
    }

    void multiply(int target, int size) {
        if (size == 4 && flagsDead()) {
            code.imul();
            commitReg(target);
            return;
        }
        code.loadConstant(size);
        code.invokestatic(CD_ALU, "multipliedSigned", MethodTypeDesc.of(CD_long, CD_int, CD_int, CD_int));
        unpackResultAndFlags();
        commitReg(target, size);
        commitFlags();
    }

    /** PUSH: the value is written below ESP, then ESP moves (InterpreterCpu.pushAt). */
    void push(Runnable value) {
        code.aload(CPU);
        loadReg(X86.ESP);
        value.run();
        mayFault();
        invokeAccess("push32", MethodTypeDesc.of(CD_int, CD_CPU, CD_int, CD_int));
        commitReg(X86.ESP);
        exitIfBlockEnded(instructions[index]);
    }

    /** POP: read the top, move ESP, then the register takes the value (POP ESP keeps it). */
    void pop(int r) {
        stackTopIntoTemp();
        closeFaultRange();
        dropStackTop();
        code.iload(TEMP);
        commitReg(r);
    }

    /** The doubleword at the top of the stack into TEMP (may fault). */
    private void stackTopIntoTemp() {
        code.aload(CPU);
        loadReg(X86.ESP);
        mayFault();
        invokeAccess("stackTop32", MethodTypeDesc.of(CD_int, CD_CPU, CD_int));
        code.istore(TEMP);
    }

    /** ESP past the doubleword popped: the instruction's commit. */
    private void dropStackTop() {
        code.aload(CPU);
        loadReg(X86.ESP);
        code.loadConstant(4).iload(ACCESS);
        code.invokestatic(CD_RUNTIME, "stackPointerAfterPop", MethodTypeDesc.of(CD_int, CD_CPU, CD_int, CD_int, CD_int));
        commitReg(X86.ESP);
    }

    void call(Instruction in) {
        int target = nearTarget(in, in.next + in.immediate);
        mayFault();
        code.aload(CPU).loadConstant(target)
                .invokestatic(CD_RUNTIME, "checkTarget", MethodTypeDesc.of(CD_void, CD_CPU, CD_int));
        code.aload(CPU);
        loadReg(X86.ESP);
        code.loadConstant(in.next);
        mayFault();
        invokeAccess("push32", MethodTypeDesc.of(CD_int, CD_CPU, CD_int, CD_int));
        commitReg(X86.ESP);
        exit(index + 1, () -> code.loadConstant(target));
    }

    void ret(Instruction in) {
        stackTopIntoTemp();
        code.aload(CPU).iload(TEMP)
                .invokestatic(CD_RUNTIME, "checkTarget", MethodTypeDesc.of(CD_void, CD_CPU, CD_int));
        closeFaultRange();
        dropStackTop();
        exit(index + 1, () -> code.iload(TEMP));
    }

    // ---- operands of any size and eager flags, for the form files ----

    /** Register r's low {@code size} bytes (byte registers as AL..BH), zero-extended. */
    void loadReg(int r, int size) {
        switch (size) {
            case 4 -> loadReg(r);
            case 2 -> {
                loadReg(r);
                code.loadConstant(0xffff).iand();
            }
            default -> loadByteReg(r);
        }
    }

    /** Stores the value on the stack into register r's low {@code size} bytes: the commit. */
    void commitReg(int r, int size) {
        switch (size) {
            case 4 -> commitReg(r);
            case 2 -> {
                closeFaultRange();
                code.loadConstant(0xffff).iand();
                loadReg(r);
                code.loadConstant(0xffff0000).iand().ior();
                commitReg(r);
            }
            default -> commitByteReg(r);
        }
    }

    /** Pushes the r/m operand's value of {@code size} bytes, zero-extended (a read: may fault). */
    void loadOperand(Instruction in, int size) {
        if (size == 4) {
            loadRm32(in);
        } else {
            loadRm(in, size);
        }
    }

    /** Writes what {@code value} pushes into the r/m operand of {@code size} bytes. */
    void storeOperand(Instruction in, int size, Runnable value) {
        if (size == 4) {
            storeRm32(in, value);
        } else if (in.mod == 3) {
            value.run();
            commitReg(in.rm, size);
        } else {
            code.aload(CPU).loadConstant(in.segment());
            effectiveAddress(in);
            value.run();
            mayFault();
            invokeAccess(size == 1 ? "write8" : "write16",
                    MethodTypeDesc.of(CD_void, CD_CPU, CD_int, CD_int, CD_int));
            closeFaultRange();
            exitIfBlockEnded(in);
        }
    }

    /**
     * A read-modify-write of the r/m operand (Executor.readForUpdate/writeBack): a
     * memory operand is translated for writing first, so nothing after the read can
     * fault. {@code compute} gets the old value on the stack and leaves the new one;
     * with {@code setsFlags} it has put the flags in NEW_FLAGS, which become the
     * block's flags once the value is written.
     */
    void readModifyWrite(Instruction in, int size, boolean setsFlags, Runnable compute) {
        readModifyWrite(in, size, setsFlags, compute, null);
    }

    /** As above; {@code afterWrite} (if not null) emits the instruction's further commits after the write. */
    void readModifyWrite(Instruction in, int size, boolean setsFlags, Runnable compute, Runnable afterWrite) {
        if (in.mod == 3) {
            loadReg(in.rm, size);
            compute.run();
            commitReg(in.rm, size);
            if (setsFlags) {
                commitFlags();
            }
            if (afterWrite != null) {
                afterWrite.run();
            }
            return;
        }
        code.aload(CPU).loadConstant(in.segment());
        effectiveAddress(in);
        code.loadConstant(size);
        mayFault();
        code.invokestatic(CD_RUNTIME, "linearForUpdate",
                MethodTypeDesc.of(CD_int, CD_CPU, CD_int, CD_int, CD_int));
        code.istore(UPDATE_LINEAR);
        code.aload(CPU).iload(UPDATE_LINEAR).loadConstant(size);
        invokeAccess("readForUpdate", MethodTypeDesc.of(CD_int, CD_CPU, CD_int, CD_int));
        compute.run();
        code.istore(NEW_VALUE);
        code.aload(CPU).iload(UPDATE_LINEAR).iload(NEW_VALUE).loadConstant(size);
        invokeAccess("writeBack", MethodTypeDesc.of(CD_void, CD_CPU, CD_int, CD_int, CD_int));
        closeFaultRange();
        if (setsFlags) {
            commitFlags();
        }
        if (afterWrite != null) {
            afterWrite.run();
        }
        exitIfBlockEnded(in);
    }

    /** The instruction's flags, computed into NEW_FLAGS, become the block's (after its last fault). */
    void commitFlags() {
        closeFaultRange();
        code.iload(NEW_FLAGS).istore(FLAGS);
        flagKind = FLAGS_EAGER;
    }

    /** Pushes the six status flags as they stand now (rotates and a count of 0 keep some). */
    void pushStatus() {
        requireWholeRecord();
        switch (flagKind) {
            case FLAGS_SUB8, FLAGS_SUB16 -> NarrowCompare.emitStatus(code, flagKind);
            case FLAGS_UNKNOWN -> code.aload(CPU)
                    .invokestatic(CD_RUNTIME, "status", MethodTypeDesc.of(CD_int, CD_CPU));
            case FLAGS_EAGER -> code.iload(FLAGS);
            case FLAGS_DYNAMIC -> LoopFlags.emitStatus(code);
            // The kind's own method, not lazyStatus's switch (see Alu.LAZY_STATUS_FORMS).
            default -> code.iload(RESULT).iload(DESTINATION).iload(SOURCE)
                    .invokestatic(CD_ALU, Alu.LAZY_STATUS_FORMS[flagKind],
                            MethodTypeDesc.of(CD_int, CD_int, CD_int, CD_int));
        }
    }

    /** Pushes 1 if condition cc holds, else 0 (SETcc, CMOVcc). */
    void pushCondition(int cc) {
        Label holds = code.newLabel();
        Label done = code.newLabel();
        branchIf(cc, holds);
        code.iconst_0().goto_(done);
        code.labelBinding(holds);
        code.iconst_1();
        code.labelBinding(done);
    }

    /**
     * With a packed long on the stack (a result in the low half, status flags in the
     * high half, as Alu.shifted answers): the flags go to NEW_FLAGS, the result stays.
     */
    void unpackResultAndFlags() {
        code.dup2().loadConstant(32).lushr().l2i().istore(NEW_FLAGS).l2i();
    }

    /**
     * The eight ALU operations of 00-3F and 80-83 on {@code size} bytes, with the
     * destination and source on the stack: leaves the result (for CMP the destination)
     * and puts the flags into NEW_FLAGS, as Alu.arith would set them.
     */
    void arithmetic(int operation, int size) {
        code.istore(SCRATCH2).istore(SCRATCH);
        if (operation == Alu.ADC || operation == Alu.SBB) {
            pushCarry();
            code.istore(CARRY);
        } else {
            code.iconst_0().istore(CARRY);
        }
        switch (operation) {
            case Alu.ADD, Alu.ADC -> {
                code.iload(SCRATCH).iload(SCRATCH2).iload(CARRY).loadConstant(size)
                        .invokestatic(CD_ALU, "addStatus", MTD_STATUS4).istore(NEW_FLAGS);
                code.iload(SCRATCH).iload(SCRATCH2).iadd().iload(CARRY).iadd();
            }
            case Alu.SUB, Alu.SBB, Alu.CMP -> {
                code.iload(SCRATCH).iload(SCRATCH2).iload(CARRY).loadConstant(size)
                        .invokestatic(CD_ALU, "subStatus", MTD_STATUS4).istore(NEW_FLAGS);
                code.iload(SCRATCH).iload(SCRATCH2).isub().iload(CARRY).isub();
            }
            default -> {
                code.iload(SCRATCH).iload(SCRATCH2);
                switch (operation) {
                    case Alu.OR -> code.ior();
                    case Alu.AND -> code.iand();
                    default -> code.ixor();
                }
                code.dup().loadConstant(size)
                        .invokestatic(CD_ALU, "resultFlags", MethodTypeDesc.of(CD_int, CD_int, CD_int))
                        .istore(NEW_FLAGS);
            }
        }
        if (operation == Alu.CMP) {
            code.pop().iload(SCRATCH);
        }
        maskTo(size);
    }

    static final MethodTypeDesc MTD_STATUS4 = MethodTypeDesc.of(CD_int, CD_int, CD_int, CD_int, CD_int);

    /** Masks the value on the stack to {@code size} bytes. */
    void maskTo(int size) {
        if (size != 4) {
            code.loadConstant(Alu.mask(size)).iand();
        }
    }

    /** PUSH of {@code size} bytes: written below ESP, then ESP moves (pushAt). */
    void push(int size, Runnable value) {
        code.aload(CPU);
        loadReg(X86.ESP);
        value.run();
        code.loadConstant(size);
        mayFault();
        code.invokevirtual(CD_CPU, "pushAt", MethodTypeDesc.of(CD_int, CD_int, CD_int, CD_int));
        commitReg(X86.ESP);
        exitIfBlockEnded(instructions[index]);
    }

    /** Pushes the value at the top of the stack ({@code size} bytes at SS:ESP + delta): a read (peek). */
    void peek(int delta, int size) {
        code.aload(CPU);
        loadReg(X86.ESP);
        code.loadConstant(delta).loadConstant(size);
        mayFault();
        code.invokestatic(CD_RUNTIME, "stackRead", MethodTypeDesc.of(CD_int, CD_CPU, CD_int, CD_int, CD_int));
    }

    /** Pushes ESP moved by {@code delta}, wrapping within SP on a 16-bit stack. */
    void stackPointerPlus(Runnable esp, int delta) {
        code.aload(CPU);
        esp.run();
        code.loadConstant(delta);
        code.invokevirtual(CD_CPU, "stackPointerPlus", MethodTypeDesc.of(CD_int, CD_int, CD_int));
    }
}
