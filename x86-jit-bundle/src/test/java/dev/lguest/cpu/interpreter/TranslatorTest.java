// The translator's own checks, beside the interpreter's tests it runs on compiled code:
// that blocks really are compiled (and run as compiled code), that the instructions it
// compiles itself and those it hands to the interpreter agree with the interpreter on
// a loop touching every compiled form, and that a fault in compiled code leaves EIP,
// registers, flags and the retired count at the faulting instruction.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class TranslatorTest {
    /** A loop using every compiled form, a few interpreted ones (SHL, ADC, IMUL), a call and a return. */
    static final int[] LOOP = concat(
            new int[] {0xbe}, imm32(DATA), // mov esi, DATA
            new int[] {0xb9}, imm32(300), // mov ecx, 300
            new int[] {0x31, 0xc0}, // xor eax, eax
            new int[] {0x31, 0xdb}, // xor ebx, ebx
            // L (CODE + 14):
            new int[] {0x8b, 0x14, 0x8e}, // mov edx, [esi + ecx*4]
            new int[] {0x01, 0xd0}, // add eax, edx
            new int[] {0x0f, 0xb6, 0x7e, 0x03}, // movzx edi, byte [esi + 3]
            new int[] {0x31, 0xf8}, // xor eax, edi
            new int[] {0xc1, 0xe0, 0x03}, // shl eax, 3 (interpreted)
            new int[] {0x11, 0xcb}, // adc ebx, ecx (interpreted)
            new int[] {0x89, 0x44, 0x8e, 0x04}, // mov [esi + ecx*4 + 4], eax
            new int[] {0x83, 0x46, 0x08, 0x07}, // add dword [esi + 8], 7
            new int[] {0x8d, 0x54, 0x0b, 0x05}, // lea edx, [ebx + ecx + 5]
            new int[] {0x52}, // push edx
            new int[] {0xe8}, imm32(0x13), // call F
            new int[] {0x5f}, // pop edi
            new int[] {0x85, 0xff}, // test edi, edi
            new int[] {0x78, 0x02}, // js +2
            new int[] {0x88, 0xc4}, // mov ah, al
            new int[] {0x39, 0xd8}, // cmp eax, ebx
            new int[] {0x72, 0x01}, // jb +1
            new int[] {0x43}, // inc ebx
            new int[] {0x49}, // dec ecx
            new int[] {0x75, 0xcf}, // jnz L
            new int[] {0xcd, 0x1f}, // int 0x1f
            new int[] {0x90, 0x90}, // padding
            // F: ebx = ebx * 3 + [esp + 4]; ret
            new int[] {0x6b, 0xdb, 0x03}, // imul ebx, ebx, 3 (interpreted)
            new int[] {0x03, 0x5c, 0x24, 0x04}, // add ebx, [esp + 4]
            new int[] {0xc3}); // ret

    @Test
    void loopRunsCompiledAndAgreesWithTheInterpreter() {
        CpuState reference = runLoop(new InterpreterCpuFactory());
        for (int threshold : new int[] {0, 1, 5}) {
            CpuState translated = runLoop(new TranslatingCpuFactory(threshold));
            assertEquals(reference.eip, translated.eip);
            assertEquals(Arrays.toString(reference.gpr), Arrays.toString(translated.gpr), "threshold " + threshold);
            assertEquals(reference.eflags, translated.eflags);
            assertEquals(reference.tsc, translated.tsc, "instructions retired");
        }
    }

    /**
     * Compiled on the background thread, and with a cap so small that the translations
     * are flushed again and again: the same state as the interpreter's, every time.
     * The guest's thread compiles nothing itself; the same machine runs the loop again
     * (same code, data reset) until a run started with a translation already made, so
     * the last run used the background thread's code (a compiled block's retired
     * instructions are not seen from outside). On a loaded machine the thread's first
     * translation can take many runs, so the runs go on for up to a minute.
     */
    @Test
    void backgroundCompilationAndAFlushedCodeCacheAgreeWithTheInterpreter() {
        CpuState reference = runLoop(new InterpreterCpuFactory());
        long deadline = System.nanoTime() + 60_000_000_000L;
        try (TestMachine m = new TestMachine()) {
            TranslatingCpu cpu = new TranslatingCpu(m.bus, 2, true, true, 64);
            boolean compiledBefore;
            do {
                compiledBefore = cpu.translations.made > 0;
                CpuState translated = runLoop(cpu, m);
                assertEquals(Arrays.toString(reference.gpr), Arrays.toString(translated.gpr));
                assertEquals(reference.eflags, translated.eflags);
                assertEquals(reference.tsc, translated.tsc, "instructions retired");
                assertEquals(0, cpu.blocksCompiled, "nothing compiled on the guest's thread");
            } while (!compiledBefore && System.nanoTime() < deadline);
            assertTrue(compiledBefore, "the background thread never compiled a block");
        }
    }

    @Test
    void pastTheCapEveryTranslationIsDropped() {
        CpuState reference = runLoop(new InterpreterCpuFactory());
        try (TestMachine m = new TestMachine()) {
            TranslatingCpu cpu = new TranslatingCpu(m.bus, 0, true, false, 1);
            CpuState translated = runLoop(cpu, m);
            assertEquals(Arrays.toString(reference.gpr), Arrays.toString(translated.gpr));
            assertEquals(reference.tsc, translated.tsc, "instructions retired");
            assertTrue(cpu.translations.flushes > 0, "flushes");
            assertTrue(cpu.blocksCompiled > cpu.translations.tracked(), "blocks compiled again after a flush");
        }
    }

    private static CpuState runLoop(dev.lguest.api.cpu.X86CpuFactory factory) {
        try (TestMachine m = new TestMachine()) {
            InterpreterCpu cpu = (InterpreterCpu) factory.create(m.bus);
            CpuState s = runLoop(cpu, m);
            if (cpu instanceof TranslatingCpu t) {
                assertTrue(t.blocksCompiled > 0, "blocks compiled");
            }
            return s;
        }
    }

    private static CpuState runLoop(InterpreterCpu cpu, TestMachine m) {
        cpu.loadState(m.cpu.saveState());
        for (int i = 0; i < 1200; i++) {
            m.write32(DATA + i * 4, i * 0x9e3779b9);
        }
        m.load(CODE, LOOP);
        cpu.setEip(CODE);
        CpuExit exit = cpu.run(1_000_000);
        assertEquals(ExitReason.VECTOR, exit.reason());
        assertEquals(0, cpu.internalErrors);
        if (cpu instanceof TranslatingCpu t) {
            assertEquals(0, t.translationFailures);
        }
        CpuState s = cpu.saveState();
        // The data the loop wrote takes part in the comparison through a checksum in EBP.
        int sum = 0;
        for (int i = 0; i < 1200; i++) {
            sum = sum * 31 + m.read32(DATA + i * 4);
        }
        s.gpr[X86.EBP] = sum;
        return s;
    }

    @Test
    void faultInCompiledCodeStopsAtTheFaultingInstruction() {
        try (TestMachine m = new TestMachine()) {
            TranslatingCpu cpu = new TranslatingCpu(m.bus, 0, true);
            CpuState s = m.cpu.saveState();
            s.setHostVector(X86.PF_VECTOR, true);
            cpu.loadState(s);
            m.load(CODE, concat(
                    new int[] {0xb8}, imm32(5), // mov eax, 5
                    new int[] {0x83, 0xe8, 0x07}, // sub eax, 7 (flags pending: CF, SF)
                    new int[] {0x43}, // inc ebx
                    new int[] {0x8b, 0x0d}, imm32(0x7ffff000), // mov ecx, [unmapped]
                    new int[] {0x42}, // inc edx
                    new int[] {0xcd, 0x1f}));
            cpu.setEip(CODE);
            CpuExit exit = cpu.run(1000);
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(X86.PF_VECTOR, exit.vector());
            assertEquals(3, exit.instructions());
            assertEquals(CODE + 5 + 3 + 1, cpu.eip());
            assertEquals(-2, cpu.gpr(X86.EAX));
            assertEquals(1, cpu.gpr(X86.EBX));
            assertEquals(0, cpu.gpr(X86.EDX));
            assertEquals(0x7ffff000, cpu.cr2);
            // SUB left CF, INC EBX (0 to 1) kept it and cleared the rest.
            assertEquals(X86.CF, cpu.saveState().eflags & Alu.STATUS);
            assertEquals(1, cpu.blocksCompiled);
        }
    }

    @Test
    void lockstepAgreesOnTheLoopAndCatchesAWrongBlock() {
        try (TestMachine m = new TestMachine()) {
            TranslatingCpu cpu = new TranslatingCpu(m.bus, 0, true);
            cpu.lockstep = new Lockstep(m.bus);
            cpu.loadState(m.cpu.saveState());
            m.load(CODE, LOOP);
            cpu.setEip(CODE);
            CpuExit agreed = cpu.run(1_000_000);
            assertEquals(null, cpu.lockstep.mismatch());
            assertEquals(ExitReason.VECTOR, agreed.reason());
            assertTrue(cpu.lockstep.comparisons > 300, "compared " + cpu.lockstep.comparisons + " times");

            // A translation that gets one register wrong: lockstep must stop the CPU at it.
            cpu.setEip(CODE);
            LockstepTest.spoilFirstBlock(cpu, c -> c.gpr[X86.EDI] ^= 1);
            CpuExit exit = cpu.run(1_000_000);
            assertEquals(ExitReason.SHUTDOWN, exit.reason());
            assertEquals(1, cpu.internalErrors);
            assertTrue(cpu.lockstep.mismatch().startsWith("after the block ending at"), cpu.lockstep.mismatch());
        }
    }

    /** A block that jumps back to its own start loops inside the compiled code: budgets must still stop it exactly. */
    @Test
    void selfLoopStopsExactlyOnEveryBudget() {
        int[] program = concat(
                new int[] {0xb9}, imm32(1000), // mov ecx, 1000
                new int[] {0x01, 0xc8}, // L: add eax, ecx
                new int[] {0xd1, 0xe3}, // shl ebx, 1
                new int[] {0x31, 0xc3}, // xor ebx, eax
                new int[] {0x49}, // dec ecx
                new int[] {0x75, 0xf7}, // jnz L
                new int[] {0xcd, 0x1f});
        assertEquals(1 + 5 * 1000 + 1, stopsExactlyOnEveryBudget(program, 5));
    }

    /**
     * Jumps back to instructions inside the block (not its start): a nested loop whose
     * inner loop begins mid-block and an outer loop back to the block's second
     * instruction. With Emitter.innerLoops both loop inside one compiled method (in
     * lockstep the whole run is a few returns from compiled code); with it off they
     * leave and come back. Either way, with every budget the same stops as the
     * interpreter.
     */
    @Test
    void loopsToInstructionsInsideTheBlockStopExactlyOnEveryBudget() {
        int[] program = concat(
                new int[] {0xb9}, imm32(100), // mov ecx, 100
                new int[] {0xba}, imm32(8), // L0: mov edx, 8
                new int[] {0x01, 0xd0}, // L1: add eax, edx
                new int[] {0xd1, 0xe3}, // shl ebx, 1
                new int[] {0x31, 0xc3}, // xor ebx, eax
                new int[] {0xa8, 0x01}, // test al, 1 (interpreted or not: the flags are dead)
                new int[] {0x46}, // inc esi
                new int[] {0x90, 0x90}, // nop; nop
                new int[] {0x4a}, // dec edx
                new int[] {0x75, 0xf2}, // jnz L1
                new int[] {0x49}, // dec ecx
                new int[] {0x75, 0xea}, // jnz L0
                new int[] {0xcd, 0x1f});
        boolean was = Emitter.innerLoops;
        try {
            Emitter.innerLoops = true;
            assertTrue(stopsExactlyOnEveryBudget(program, 5) > 100 * 8 * 7);
            Emitter.innerLoops = false;
            assertTrue(stopsExactlyOnEveryBudget(program, Integer.MAX_VALUE) > 100 * 8 * 7);
        } finally {
            Emitter.innerLoops = was;
        }
    }

    /**
     * The loops of guest/benchmarks/intloop.c's CRC-32 and hash mix: shifts, rotates,
     * NEG, MUL and IMUL whose flags the next instruction replaces are compiled without
     * them (FlagLiveness), and the back edge to a loop head whose flags are dead writes
     * no flag record; every budget still stops with the interpreter's flags, which
     * there are the last live instruction's.
     */
    @Test
    void loopsWithDeadFlagsStopExactlyOnEveryBudget() {
        int[] program = concat(
                new int[] {0xb9}, imm32(60), // mov ecx, 60
                new int[] {0xbd}, imm32(0x12345678), // mov ebp, 0x12345678
                new int[] {0x89, 0xea}, // L: mov edx, ebp (the loop head: flags dead)
                new int[] {0x83, 0xe5, 0x01}, // and ebp, 1
                new int[] {0xd1, 0xea}, // shr edx, 1 (dead)
                new int[] {0xf7, 0xdd}, // neg ebp (dead)
                new int[] {0x81, 0xe5}, imm32(0xedb88320), // and ebp, 0xedb88320
                new int[] {0x31, 0xd5}, // xor ebp, edx
                new int[] {0x69, 0xdb}, imm32(0x19660d), // imul ebx, ebx, 0x19660d (dead)
                new int[] {0x89, 0xe8}, // mov eax, ebp
                new int[] {0xf7, 0xe3}, // mul ebx (dead)
                new int[] {0xc1, 0xe2, 0x05}, // shl edx, 5 (live: ROL keeps some flags)
                new int[] {0xc1, 0xc0, 0x07}, // rol eax, 7 (dead)
                new int[] {0x01, 0xc7}, // add edi, eax
                new int[] {0xd1, 0xfe}, // sar esi, 1 (live: INC EBX keeps its CF)
                new int[] {0x43}, // inc ebx
                new int[] {0xc1, 0xce, 0x03}, // ror esi, 3 (live: its CF outlives INC and DEC)
                new int[] {0x46}, // inc esi
                new int[] {0x49}, // dec ecx
                new int[] {0x75, 0xd3}, // jnz L
                new int[] {0xcd, 0x1f});
        assertEquals(2 + 18 * 60 + 1, stopsExactlyOnEveryBudget(program, 5));
    }

    /**
     * A loop whose head's flags are dead but which faults mid-iteration (a load walking
     * off the mapped memory, after a shift whose flags the fault must show): the
     * interpreter's EIP, retired count, registers, flags and CR2 on every budget.
     */
    @Test
    void loopFaultingMidIterationStopsExactlyOnEveryBudget() {
        int[] program = concat(
                new int[] {0xbe}, imm32(TestMachine.RAM_SIZE - 0x2000), // mov esi, two pages below the end
                new int[] {0x89, 0xea}, // L: mov edx, ebp
                new int[] {0x83, 0xe2, 0x01}, // and edx, 1
                new int[] {0xc1, 0xe0, 0x03}, // shl eax, 3 (live: the load below may fault)
                new int[] {0x8b, 0x1e}, // mov ebx, [esi]
                new int[] {0x81, 0xc6}, imm32(0x400), // add esi, 0x400
                new int[] {0xd1, 0xe5}, // shl ebp, 1
                new int[] {0x45}, // inc ebp
                new int[] {0xeb, 0xeb}, // jmp L
                new int[] {0xcd, 0x1f});
        assertEquals(1 + 8 * 8 + 3, stopsExactlyOnEveryBudget(program, 5, true));
    }

    /** A loop that rewrites its own immediate operand every pass: each store ends the compiled block. */
    @Test
    void loopWritingItsOwnCodeStopsExactlyOnEveryBudget() {
        int[] program = concat(
                new int[] {0xb9}, imm32(40), // mov ecx, 40
                new int[] {0x05}, imm32(1), // L: add eax, 1 (its immediate rewritten below)
                new int[] {0xd1, 0xe0}, // shl eax, 1
                new int[] {0x89, 0x0d}, imm32(CODE + 6), // mov [L + 1], ecx
                new int[] {0x49}, // dec ecx
                new int[] {0x75, 0xf0}, // jnz L
                new int[] {0xcd, 0x1f});
        assertEquals(1 + 5 * 40 + 1, stopsExactlyOnEveryBudget(program, Integer.MAX_VALUE));
    }

    /**
     * A store into the block's own code ends the block right after it, so the flags of
     * an ADD to memory are seen there even though the next instruction replaces them
     * all: FlagLiveness must not call them dead (CpuFuzzTest found this in lockstep).
     */
    @Test
    void arithmeticStoringIntoItsOwnBlockLeavesItsFlags() {
        int[] program = concat(
                new int[] {0xb9}, imm32(40), // mov ecx, 40
                new int[] {0x01, 0x0d}, imm32(CODE + 12), // L: add [M + 1], ecx (ends the block)
                new int[] {0x05}, imm32(0x0f), // M: add eax, 0x0f (its immediate grows; all flags replaced)
                new int[] {0x49}, // dec ecx
                new int[] {0x75, 0xf2}, // jnz L
                new int[] {0xcd, 0x1f});
        assertEquals(1 + 4 * 40 + 1, stopsExactlyOnEveryBudget(program, 1000));
    }

    /** A forward Jcc inside a loop leaves the compiled block and comes back: the same stops as the interpreter. */
    @Test
    void forwardJumpsInsideALoopStopExactlyOnEveryBudget() {
        int[] program = concat(
                new int[] {0xb9}, imm32(200), // mov ecx, 200
                new int[] {0x01, 0xc8}, // L: add eax, ecx
                new int[] {0xa8, 0x01}, // test al, 1
                new int[] {0x74, 0x01}, // jz SKIP
                new int[] {0x46}, // inc esi
                new int[] {0x49}, // SKIP: dec ecx
                new int[] {0x75, 0xf6}, // jnz L
                new int[] {0xcd, 0x1f});
        assertTrue(stopsExactlyOnEveryBudget(program, Integer.MAX_VALUE) > 200 * 5);
    }

    /**
     * Calls through a register and through memory (FF /2) and a jump through a
     * register and through memory (FF /4), compiled: with every budget the same stops
     * as the interpreter.
     */
    @Test
    void indirectCallsAndJumpsStopExactlyOnEveryBudget() {
        int[] program = new int[0x80];
        Arrays.fill(program, 0x90);
        place(program, 0, concat(
                new int[] {0xb9}, imm32(50), // mov ecx, 50
                new int[] {0xbe}, imm32(CODE + 0x40), // mov esi, F
                new int[] {0xc7, 0x05}, imm32(DATA), imm32(CODE + 0x50), // mov dword [DATA], G
                new int[] {0xff, 0xd6}, // L: call esi
                new int[] {0xff, 0x15}, imm32(DATA), // call [DATA]
                new int[] {0x49}, // dec ecx
                new int[] {0x75, 0xf5}, // jnz L
                new int[] {0xc7, 0x05}, imm32(DATA + 4), imm32(CODE + 0x70), // mov dword [DATA + 4], X
                new int[] {0xbf}, imm32(CODE + 0x60), // mov edi, H
                new int[] {0xff, 0xe7})); // jmp edi
        place(program, 0x40, new int[] {0x01, 0xc8, 0xc3}); // F: add eax, ecx; ret
        place(program, 0x50, new int[] {0x31, 0xc3, 0xd1, 0xe3, 0xc3}); // G: xor ebx, eax; shl ebx, 1; ret
        place(program, 0x60, concat(new int[] {0xff, 0x25}, imm32(DATA + 4))); // H: jmp [DATA + 4]
        place(program, 0x70, new int[] {0xcd, 0x1f}); // X: int 0x1f
        assertEquals(3 + 50 * 9 + 5, stopsExactlyOnEveryBudget(program, Integer.MAX_VALUE));
    }

    /** A compiled call through a pointer on an unmapped page faults with nothing pushed: the interpreter's state. */
    @Test
    void indirectCallThroughAnUnmappedPointerFaultsExactly() {
        int[] program = concat(
                new int[] {0xb8}, imm32(5), // mov eax, 5
                new int[] {0x83, 0xe8, 0x07}, // sub eax, 7
                new int[] {0xff, 0x15}, imm32(0x7ffff000), // call [unmapped]
                new int[] {0xcd, 0x1f});
        CpuState[] ends = new CpuState[2];
        for (int which = 0; which < 2; which++) {
            try (TestMachine m = new TestMachine()) {
                InterpreterCpu cpu = which == 0 ? new InterpreterCpu(m.bus) : new TranslatingCpu(m.bus, 0, true);
                CpuState s = m.cpu.saveState();
                s.setHostVector(X86.PF_VECTOR, true);
                cpu.loadState(s);
                m.load(CODE, program);
                cpu.setEip(CODE);
                CpuExit exit = cpu.run(1000);
                assertEquals(ExitReason.VECTOR, exit.reason());
                assertEquals(X86.PF_VECTOR, exit.vector());
                assertEquals(2, exit.instructions());
                assertEquals(CODE + 5 + 3, cpu.eip());
                assertEquals(0x7ffff000, cpu.cr2);
                ends[which] = cpu.saveState();
                if (which == 1) {
                    assertEquals(1, ((TranslatingCpu) cpu).blocksCompiled);
                }
            }
        }
        assertEquals(ends[0], ends[1]);
    }

    private static CpuState startState(TestMachine m, boolean pageFaultsExit) {
        CpuState s = m.cpu.saveState();
        s.setHostVector(X86.PF_VECTOR, pageFaultsExit);
        return s;
    }

    private static void place(int[] program, int at, int[] bytes) {
        System.arraycopy(bytes, 0, program, at, bytes.length);
    }

    /**
     * Runs {@code program}, loaded at CODE, on {@code cpu} from the state of the
     * machine's own CPU until the host's exit, which it must reach with no internal
     * error and no failed translation.
     */
    static void runToHostExit(TestMachine m, TranslatingCpu cpu, int[] program) {
        cpu.loadState(m.cpu.saveState());
        m.load(CODE, program);
        cpu.setEip(CODE);
        CpuExit exit = cpu.run(Long.MAX_VALUE);
        assertEquals(ExitReason.VECTOR, exit.reason());
        assertEquals(TestMachine.HOST_EXIT, exit.vector());
        assertEquals(0, cpu.internalErrors + cpu.translationFailures);
    }

    /**
     * Runs the program to its INT on both CPUs with each budget; returns the
     * instructions retired. In lockstep (every return from compiled code compared)
     * the whole run takes fewer than {@code maxComparisons} returns.
     */
    static long stopsExactlyOnEveryBudget(int[] program, int maxComparisons) {
        return stopsExactlyOnEveryBudget(program, maxComparisons, false);
    }

    /** As above; with {@code toPageFault} the program ends at a page fault (a host vector) instead. */
    static long stopsExactlyOnEveryBudget(int[] program, int maxComparisons, boolean toPageFault) {
        return stopsExactlyOnEveryBudget(program, maxComparisons, toPageFault, 0);
    }

    /** As above, the translating CPU compiling a block after {@code threshold} runs (BlockChainTest). */
    static long stopsExactlyOnEveryBudget(int[] program, int maxComparisons, boolean toPageFault, int threshold) {
        return stopsExactlyOnEveryBudget(program, maxComparisons, toPageFault, threshold, cpu -> {
        });
    }

    /** As above, each translating CPU made given to {@code setUp} before it runs (RegionTest). */
    static long stopsExactlyOnEveryBudget(int[] program, int maxComparisons, boolean toPageFault, int threshold,
            java.util.function.Consumer<TranslatingCpu> setUp) {
        long total = 0;
        for (long budget : new long[] {1, 2, 3, 5, 7, 10, 11, 4999, Long.MAX_VALUE}) {
            CpuState[] ends = new CpuState[2];
            long[] retired = new long[2];
            // The whole state at every stop, not only at the end: a flag record a loop
            // left stale at a budget stop may be replaced before the end.
            List<List<CpuState>> stops = List.of(new ArrayList<>(), new ArrayList<>());
            for (int which = 0; which < 2; which++) {
                try (TestMachine m = new TestMachine()) {
                    InterpreterCpu cpu = which == 0 ? new InterpreterCpu(m.bus)
                            : new TranslatingCpu(m.bus, threshold, true);
                    if (cpu instanceof TranslatingCpu translating) {
                        setUp.accept(translating);
                    }
                    cpu.loadState(startState(m, toPageFault));
                    m.load(CODE, program);
                    cpu.setEip(CODE);
                    CpuExit exit;
                    do {
                        exit = cpu.run(budget);
                        retired[which] += exit.instructions();
                        assertTrue(exit.instructions() <= budget);
                        stops.get(which).add(cpu.saveState());
                    } while (exit.reason() == ExitReason.BUDGET);
                    assertEquals(ExitReason.VECTOR, exit.reason());
                    assertEquals(toPageFault ? X86.PF_VECTOR : TestMachine.HOST_EXIT, exit.vector());
                    ends[which] = cpu.saveState();
                }
            }
            total = retired[0];
            if (budget == Long.MAX_VALUE) {
                // In lockstep every return from compiled code is compared: the loop went round inside.
                try (TestMachine m = new TestMachine()) {
                    TranslatingCpu cpu = new TranslatingCpu(m.bus, threshold, true);
                    setUp.accept(cpu);
                    cpu.lockstep = new Lockstep(m.bus);
                    cpu.loadState(startState(m, toPageFault));
                    m.load(CODE, program);
                    cpu.setEip(CODE);
                    assertEquals(ExitReason.VECTOR, cpu.run(budget).reason());
                    assertEquals(null, cpu.lockstep.mismatch());
                    assertTrue(cpu.lockstep.comparisons < maxComparisons, cpu.lockstep.comparisons + " comparisons");
                }
            }
            assertEquals(retired[0], retired[1], "budget " + budget);
            assertEquals(stops.get(0), stops.get(1), "budget " + budget);
            assertEquals(ends[0], ends[1], "budget " + budget);
        }
        return total;
    }
}
