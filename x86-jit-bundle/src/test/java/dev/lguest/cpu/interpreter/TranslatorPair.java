// Two test machines for holding compiled code against the interpreter: one runs an
// InterpreterCpu, the other a TranslatingCpu that compiles every block at its first
// run (strict: a translation failure is an error, not a silent fallback). Before each
// program both are reset to the same state (the low 24 KB of tables, the data, the
// stacks), and after it the exit, the whole CpuState and all of RAM are compared.
// Used by CompiledFormsTest and CompiledX87Test.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_STACK;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import java.util.function.Consumer;

final class TranslatorPair implements AutoCloseable {
    private static final int TABLES = 0x6000;

    final TestMachine reference = new TestMachine();
    final TestMachine translated = new TestMachine();
    final InterpreterCpu interpreter = new InterpreterCpu(reference.bus);
    final TranslatingCpu translator = new TranslatingCpu(translated.bus, 0, true);
    private final MemorySegment pristine = MemorySegment.ofArray(new byte[TABLES]);
    private final CpuState start;
    /** The translator's exit and state after the last program. */
    CpuExit lastExit;
    CpuState lastState;

    TranslatorPair() {
        this(m -> {
        });
    }

    /** {@code setUp} changes both machines (their tables, below 24 KB) before the state every program starts from is taken. */
    TranslatorPair(Consumer<TestMachine> setUp) {
        setUp.accept(reference);
        setUp.accept(translated);
        pristine.copyFrom(reference.ram.asSlice(0, TABLES));
        CpuState s = reference.cpu.saveState();
        for (int v = 0; v < 32; v++) {
            s.setHostVector(v, true);
        }
        start = s;
    }

    /**
     * Runs the program at CODE on both from the start state as {@code state} changes it,
     * with {@code data} at DATA; null, or what differed.
     */
    String run(int[] program, Consumer<CpuState> state, byte[] data) {
        CpuState[] ends = new CpuState[2];
        CpuExit[] exits = new CpuExit[2];
        TestMachine[] machines = {reference, translated};
        InterpreterCpu[] cpus = {interpreter, translator};
        for (int which = 0; which < 2; which++) {
            TestMachine m = machines[which];
            m.ram.asSlice(0, TABLES).copyFrom(pristine);
            MemorySegment.copy(MemorySegment.ofArray(data), 0, m.ram, DATA, data.length);
            m.ram.asSlice(KERNEL_STACK - 0x1000, 0x1000).fill((byte) 0);
            m.load(CODE, program);
            CpuState s = start.copy();
            state.accept(s);
            s.eip = CODE;
            cpus[which].loadState(s);
            exits[which] = cpus[which].run(500);
            ends[which] = cpus[which].saveState();
        }
        lastExit = exits[1];
        lastState = ends[1];
        if (translator.internalErrors != 0 || translator.translationFailures != 0) {
            return "translator failed (" + translator.internalErrors + " internal errors, "
                    + translator.translationFailures + " translation failures)";
        }
        if (!exits[0].equals(exits[1])) {
            return "exit " + exits[0] + " vs " + exits[1];
        }
        if (!ends[0].equals(ends[1])) {
            return "state\n  interpreter " + describe(ends[0]) + "\n  translator  " + describe(ends[1]);
        }
        long differs = reference.ram.mismatch(translated.ram);
        if (differs >= 0) {
            return "RAM differs at 0x" + Long.toHexString(differs);
        }
        return null;
    }

    private static String describe(CpuState s) {
        StringBuilder b = new StringBuilder("eip=" + Integer.toHexString(s.eip) + " eflags="
                + Integer.toHexString(s.eflags) + " tsc=" + s.tsc + " cr2=" + Integer.toHexString(s.cr2));
        for (int r = 0; r < 8; r++) {
            b.append(' ').append(Integer.toHexString(s.gpr[r]));
        }
        return b.append(" fpu=").append(HexFormat.of().formatHex(s.fpu)).toString();
    }

    @Override
    public void close() {
        reference.close();
        translated.close();
    }
}
