// Random code must never make run() throw or hit an interpreter bug: 1,000,000 seeded
// random 16-byte sequences per run, half at CPL 1 (the guest kernel's ring) and half at
// CPL 3, each with a small budget. Every outcome has to be an x86 outcome: a vector, the
// budget, a halt, or a triple-fault shutdown, never a Java exception or an internal
// error. A quarter of the sequences start with 0F so the two-byte map gets as much
// coverage as the one-byte map. Two machines share the work, one per core.
// lguest.test.randomSequences sets the count for a run that must stay shorter (the
// translator defines a class per sequence, and its lockstep mode copies RAM per run);
// the sequences are the same, the first N of each machine's stream.
package dev.lguest.cpu.interpreter;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class RobustnessTest {
    static final int SEQUENCES = Integer.getInteger("lguest.test.randomSequences", 1_000_000);
    static final int THREADS = 2;

    @Test
    void randomCodeNeverThrows() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<String>> parts = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                long seed = 0x1c0ffeeL + t;
                parts.add(pool.submit(() -> run(seed, SEQUENCES / THREADS)));
            }
            for (Future<String> part : parts) {
                assertEquals(null, part.get());
            }
        } finally {
            pool.shutdown();
        }
    }

    /** Runs {@code count} sequences; returns null, or a description of the first bad outcome. */
    private static String run(long seed, int count) {
        try (TestMachine m = new TestMachine()) {
            CpuState kernel = m.cpu.saveState();
            for (int v = 0; v < 32; v++) {
                kernel.setHostVector(v, true);
            }
            m.cpu.loadState(kernel);
            m.enterUserMode(TestMachine.CODE, TestMachine.USER_STACK);
            CpuState user = m.cpu.saveState();
            // Random code may scribble over the tables: keep a pristine copy of them.
            MemorySegment pristine = MemorySegment.ofArray(new byte[0x6000]);
            pristine.copyFrom(m.ram.asSlice(0, 0x6000));
            Random random = new Random(seed);
            byte[] code = new byte[16];
            for (int i = 0; i < count; i++) {
                m.ram.asSlice(0, 0x6000).copyFrom(pristine);
                random.nextBytes(code);
                if (random.nextInt(4) == 0) {
                    code[0] = 0x0f;
                }
                MemorySegment.copy(MemorySegment.ofArray(code), 0, m.ram, TestMachine.CODE, 16);
                CpuState start = (i & 1) == 0 ? kernel : user;
                start.gpr[0] = random.nextInt();
                start.gpr[1] = random.nextInt(64);
                start.gpr[2] = random.nextInt();
                start.gpr[3] = TestMachine.DATA + random.nextInt(0x1000);
                start.gpr[5] = TestMachine.DATA + random.nextInt(0x1000);
                start.gpr[6] = TestMachine.DATA;
                start.gpr[7] = TestMachine.DATA + 0x800;
                start.eflags = 0x202 | (random.nextInt() & 0xcd5);
                m.cpu.loadState(start);
                CpuExit exit;
                try {
                    exit = m.cpu.run(1 + random.nextInt(24));
                } catch (Throwable t) {
                    return "run() threw " + t + " on " + HexFormat.of().formatHex(code);
                }
                boolean defined = switch (exit.reason()) {
                    case VECTOR -> exit.vector() >= 0 && exit.vector() < 256;
                    case BUDGET, SHUTDOWN -> true;
                    // Only HLT at CPL 0 hands the CPU back; random code starts at CPL 1 or 3.
                    case INTERRUPTED -> false;
                };
                if (m.cpu.internalErrors != 0 || !defined) {
                    return "interpreter bug on " + HexFormat.of().formatHex(code) + " exit " + exit
                            + " at CPL " + start.cpl();
                }
            }
        }
        return null;
    }
}
