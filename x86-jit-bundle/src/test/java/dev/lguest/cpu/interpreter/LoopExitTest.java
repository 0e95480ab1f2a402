// A loop compiled into one JVM loop does not read the CPU's volatile interrupt request
// on its passes (Emitter.LOOPED_MOST): it leaves the block for the run loop after so
// many instructions and comes back. Here an endless compiled loop still returns from
// run() when another thread calls interrupt(), at an exact instruction boundary, and a
// loop of several hundred thousand instructions (leaving and re-entering its block
// several times) stops as the interpreter does with every budget.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static dev.lguest.cpu.interpreter.TranslatorTest.stopsExactlyOnEveryBudget;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class LoopExitTest {
    /** Without a way out for interrupt(), run() would never return: the timeout fails the test then. */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void endlessCompiledLoopReturnsOnInterruptAtAnInstructionBoundary() throws InterruptedException {
        int[] program = concat(
                new int[] {0x40}, // L: inc eax
                new int[] {0xeb, 0xfd}); // jmp L
        try (TestMachine m = new TestMachine()) {
            TranslatingCpu cpu = new TranslatingCpu(m.bus, 0, true);
            cpu.loadState(m.cpu.saveState());
            m.load(CODE, program);
            cpu.setEip(CODE);
            Thread interrupter = Thread.ofPlatform().start(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    cpu.interrupt();
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            try {
                long retired = 0;
                while (retired < 5_000_000) {
                    CpuExit exit = cpu.run(Long.MAX_VALUE);
                    assertEquals(ExitReason.INTERRUPTED, exit.reason());
                    retired += exit.instructions();
                    // Every INC retired is one in EAX; a stop after the INC has the JMP still to run.
                    int eax = cpu.saveState().gpr[X86.EAX];
                    assertEquals(cpu.eip() == CODE ? retired : retired + 1, 2L * eax,
                            "at " + Integer.toHexString(cpu.eip()));
                }
                assertTrue(cpu.blocksCompiled > 0);
            } finally {
                interrupter.interrupt();
                interrupter.join();
            }
        }
    }

    /** 300,000 instructions in one compiled loop: out to the run loop and back every Emitter.LOOPED_MOST. */
    @Test
    void longLoopLeavingItsBlockStopsExactlyOnEveryBudget() {
        int[] program = concat(
                new int[] {0xb9}, imm32(100_000), // mov ecx, 100000
                new int[] {0x01, 0xc8}, // L: add eax, ecx
                new int[] {0x49}, // dec ecx
                new int[] {0x75, 0xfb}, // jnz L
                new int[] {0xcd, 0x1f});
        assertEquals(1 + 3 * 100_000 + 1, stopsExactlyOnEveryBudget(program, Integer.MAX_VALUE));
    }
}
