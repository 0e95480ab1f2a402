// Random code must never make run() throw or hit an interpreter bug: 20,000 seeded
// random 16-byte sequences, at CPL 1 and CPL 3, each run with a small budget. Every
// outcome has to be an x86 outcome (a vector, the budget, or a triple-fault shutdown).
package dev.lguest.cpu.interpreter;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RobustnessTest {
    @Test
    void randomCodeNeverThrows() {
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
            Random random = new Random(0x1c0ffeeL);
            byte[] code = new byte[16];
            for (int i = 0; i < 20_000; i++) {
                m.ram.asSlice(0, 0x6000).copyFrom(pristine);
                random.nextBytes(code);
                MemorySegment.copy(MemorySegment.ofArray(code), 0, m.ram, TestMachine.CODE, 16);
                CpuState start = (i & 1) == 0 ? kernel : user;
                start.gpr[0] = random.nextInt();
                start.gpr[1] = random.nextInt(64);
                start.gpr[3] = TestMachine.DATA + random.nextInt(0x1000);
                start.gpr[6] = TestMachine.DATA;
                start.gpr[7] = TestMachine.DATA + 0x800;
                m.cpu.loadState(start);
                CpuExit exit = m.cpu.run(64);
                assertEquals(0, m.cpu.internalErrors, () -> "interpreter bug on " + java.util.HexFormat.of()
                        .formatHex(code) + " exit " + exit);
            }
        }
    }
}
