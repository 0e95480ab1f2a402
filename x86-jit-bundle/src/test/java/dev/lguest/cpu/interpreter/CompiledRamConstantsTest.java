// Each compiled block's class holds its CPU's guest RAM segment and TLB view as
// constants (BlockTranslator.RAM). These tests check what that must not change: two
// machines running the same guest code in one JVM each compile their own blocks and
// touch only their own RAM, and a machine whose RAM arena has closed still stops
// cleanly (the segment's arena check stays in the compiled access) instead of
// touching freed memory.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.ExitReason;
import org.junit.jupiter.api.Test;

class CompiledRamConstantsTest {
    /** {@code passes} times: INC [DATA], then copy it to DATA + 4; then the host exit. */
    private static int[] counter(int passes) {
        return concat(
                new int[] {0xb9}, imm32(passes), // mov ecx, passes
                new int[] {0xbe}, imm32(DATA), // mov esi, DATA
                new int[] {0xff, 0x06}, // L: inc dword [esi]
                new int[] {0x8b, 0x06}, // mov eax, [esi]
                new int[] {0x89, 0x46, 0x04}, // mov [esi + 4], eax
                new int[] {0x49}, // dec ecx
                new int[] {0x75, 0xf6}, // jnz L
                new int[] {0xcd, 0x1f}); // int 0x1f
    }

    private static TranslatingCpu translatingCpu(TestMachine m, int[] program) {
        TranslatingCpu cpu = new TranslatingCpu(m.bus, 0, true);
        cpu.loadState(m.cpu.saveState());
        m.load(CODE, program);
        return cpu;
    }

    private static CpuExit runFromStart(TranslatingCpu cpu, long budget) {
        cpu.setEip(CODE);
        return cpu.run(budget);
    }

    @Test
    void twoMachinesRunningTheSameCodeEachTouchOnlyTheirOwnRam() {
        int passes = 20_000;
        try (TestMachine a = new TestMachine(); TestMachine b = new TestMachine()) {
            TranslatingCpu cpuA = translatingCpu(a, counter(passes));
            TranslatingCpu cpuB = translatingCpu(b, counter(passes));
            b.write32(DATA, 1000);
            for (TranslatingCpu cpu : new TranslatingCpu[] {cpuA, cpuB, cpuA}) {
                CpuExit exit = runFromStart(cpu, 10_000_000);
                assertEquals(ExitReason.VECTOR, exit.reason());
                assertEquals(TestMachine.HOST_EXIT, exit.vector());
            }
            assertEquals(2 * passes, a.ram.get(LinearMemory.INT_LE, DATA));
            assertEquals(2 * passes, a.ram.get(LinearMemory.INT_LE, DATA + 4));
            assertEquals(1000 + passes, b.ram.get(LinearMemory.INT_LE, DATA));
            assertEquals(1000 + passes, b.ram.get(LinearMemory.INT_LE, DATA + 4));
            assertTrue(cpuA.blocksCompiled > 0 && cpuB.blocksCompiled > 0, "blocks compiled");
            assertEquals(0, cpuA.internalErrors + cpuB.internalErrors);
        }
    }

    @Test
    void aCompiledAccessAfterTheRamArenaClosedStopsTheCpuCleanly() {
        TestMachine m = new TestMachine();
        TranslatingCpu cpu = translatingCpu(m, counter(Integer.MAX_VALUE));
        // Long enough for the loop's block to be compiled and hot.
        assertEquals(ExitReason.BUDGET, runFromStart(cpu, 2_000_000).reason());
        assertTrue(cpu.blocksCompiled > 0, "blocks compiled");
        m.bus.close();
        m.arena.close();
        CpuExit exit = cpu.run(1_000_000);
        assertEquals(ExitReason.SHUTDOWN, exit.reason());
        assertEquals(1, cpu.internalErrors);
    }
}
