package dev.lguest.switcher;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.cpu.interpreter.InterpreterCpuFactory;
import dev.lguest.testing.StateOnlyCpu;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A new CPU's first run: the real CPU goes through the program to its INT; a broken one is reported, not thrown. */
class CpuFirstRunTest {
    @Test
    void theRealCpuRunsOneRoundOfTheProgramToItsInt() {
        CpuFirstRun.Result result = CpuFirstRun.run(new InterpreterCpuFactory());
        assertNull(result.stoppedBy());
        // Three moves; 256 rounds of the loop (24 instructions, 14 more in mix, and
        // the SUB in the 127 rounds whose value is odd, as worked out from the
        // program's data); the string part (5 moves, two REPs) and the INT.
        assertEquals(3 + 256 * (24 + 14) + 127 + 7 + 1, result.instructions());
    }

    @Test
    void aCpuThatFaultsOrThrowsIsReportedNotThrown() {
        CpuFirstRun.Result faulted = CpuFirstRun.run(factory(new CpuExit(ExitReason.VECTOR, 13, 0, 5)));
        assertTrue(faulted.stoppedBy().startsWith("the CPU left the program: "), faulted.stoppedBy());
        assertEquals(5, faulted.instructions());

        CpuFirstRun.Result threw = CpuFirstRun.run(new X86CpuFactory() {
            @Override
            public X86Cpu create(PhysicalMemory bus) {
                throw new IllegalStateException("broken");
            }

            @Override
            public String name() {
                return "broken";
            }
        });
        assertEquals("the CPU failed: java.lang.IllegalStateException: broken", threw.stoppedBy());
    }

    @Test
    void aCpuThatNeverReachesTheIntIsStoppedByTheInstructionLimit() {
        CpuFirstRun.Result result = CpuFirstRun.run(factory(new CpuExit(ExitReason.BUDGET, 0, 0, 1000)));
        assertEquals("the CPU did not reach the end of the program", result.stoppedBy());
        assertEquals(CpuFirstRun.MAX_INSTRUCTIONS, result.instructions());
    }

    /** A factory whose CPUs end every run with {@code exit}. */
    private static X86CpuFactory factory(CpuExit exit) {
        return new X86CpuFactory() {
            @Override
            public X86Cpu create(PhysicalMemory bus) {
                return new StateOnlyCpu() {
                    @Override
                    public CpuExit run(long budget) {
                        return exit;
                    }
                };
            }

            @Override
            public String name() {
                return "fixed";
            }
        };
    }
}
