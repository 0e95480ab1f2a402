// Lockstep must fail when the translator is wrong, wherever the wrong state lands: a
// byte of RAM no register shows is caught when the run ends (TranslatorTest has a
// wrong register caught at the block's end, and lockstep agreeing on its loop); and
// with lguest.jit.lockstepEvery=N it checks every Nth run() in full and leaves the
// runs between alone.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class LockstepTest {
    /** A CPU compiling every block, in lockstep checking one run in {@code every}, its EIP at TranslatorTest's loop. */
    private static TranslatingCpu loopInLockstep(TestMachine m, int every) {
        TranslatingCpu cpu = new TranslatingCpu(m.bus, 0, true);
        cpu.lockstep = new Lockstep(m.bus, every);
        cpu.loadState(m.cpu.saveState());
        m.load(CODE, TranslatorTest.LOOP);
        cpu.setEip(CODE);
        return cpu;
    }

    /** Replaces the compiled form of the loop's first block with one that runs it and then does {@code wrong}. */
    static void spoilFirstBlock(TranslatingCpu cpu, Consumer<InterpreterCpu> wrong) {
        Block first = cpu.codeCache.lookup(CODE >>> 12, CODE & 0xfff, CODE, true);
        CompiledBlock right = (CompiledBlock) first.translation;
        first.translation = new CompiledBlock(first.code) {
            @Override
            void run(InterpreterCpu c, long budget) {
                right.run(c, budget);
                wrong.accept(c);
            }
        };
    }

    @Test
    void aWrongByteOfRamIsCaughtWhenTheRunEnds() {
        try (TestMachine m = new TestMachine()) {
            TranslatingCpu cpu = loopInLockstep(m, 1);
            assertEquals(ExitReason.VECTOR, cpu.run(1_000_000).reason());
            cpu.setEip(CODE);
            // A store no register reflects, far from what the loop touches.
            spoilFirstBlock(cpu, c -> m.ram.set(LinearMemory.BYTE, DATA + 0x8000,
                    (byte) (m.ram.get(LinearMemory.BYTE, DATA + 0x8000) + 1)));
            CpuExit exit = cpu.run(1_000_000);
            assertEquals(ExitReason.SHUTDOWN, exit.reason());
            assertTrue(cpu.lockstep.mismatch().startsWith("RAM differs at " + Integer.toHexString(DATA + 0x8000)),
                    cpu.lockstep.mismatch());
        }
    }

    @Test
    void everySecondRunIsCheckedInFullAndTheOthersNot() {
        try (TestMachine m = new TestMachine()) {
            TranslatingCpu cpu = loopInLockstep(m, 2);
            assertEquals(ExitReason.VECTOR, cpu.run(1_000_000).reason());
            long firstRun = cpu.lockstep.comparisons;
            assertTrue(firstRun > 300, "the first run is checked: " + firstRun + " comparisons");

            spoilFirstBlock(cpu, c -> c.gpr[X86.EBP] += 1);
            cpu.setEip(CODE);
            assertEquals(ExitReason.VECTOR, cpu.run(1_000_000).reason(), "the second run goes unchecked");
            assertEquals(firstRun, cpu.lockstep.comparisons);
            assertNull(cpu.lockstep.mismatch());

            cpu.setEip(CODE);
            assertEquals(ExitReason.SHUTDOWN, cpu.run(1_000_000).reason(), "the third is checked again");
            assertTrue(cpu.lockstep.mismatch().startsWith("after the block ending at"), cpu.lockstep.mismatch());
        }
    }
}
