// Coverage-guided fuzzing of the CPU on arbitrary bytes, at ring 1 (where a guest
// kernel runs) and ring 3 (its processes). RobustnessTest throws a million random
// sequences at it; Jazzer instead steers by coverage, so it reaches the prefixes,
// ModRM forms and exception paths random bytes rarely hit. Each input chooses the
// ring, the registers, the flags, whether exceptions come back to the host (as the
// switcher runs a guest) or go through the machine's IDT (where an absent gate
// becomes #GP, #DF and a triple fault), a budget, code at CODE and a page of data.
// Every outcome must be an x86 outcome: a vector, the budget or a shutdown; never a
// Java exception, an internal error, or a halt handed back below ring 0.
//
// ./fuzz CpuFuzzTest#ring1And3 10m explores; ./mvnw verify replays the inputs under
// src/test/resources/dev/lguest/cpu/interpreter/CpuFuzzTestInputs/.
package dev.lguest.cpu.interpreter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import java.lang.foreign.MemorySegment;

class CpuFuzzTest {
    @FuzzTest
    void ring1And3(FuzzedDataProvider data) {
        try (TestMachine m = new TestMachine()) {
            boolean user = data.consumeBoolean();
            boolean hostVectors = data.consumeBoolean();
            if (user) {
                m.enterUserMode(TestMachine.CODE, TestMachine.USER_STACK);
            }
            CpuState start = m.cpu.saveState();
            for (int v = 0; v < 32; v++) {
                start.setHostVector(v, hostVectors);
            }
            for (int r = 0; r < 8; r++) {
                if (r == 4) {
                    continue;
                }
                // Mostly pointers into the data page, so memory forms reach memory.
                start.gpr[r] = data.consumeBoolean() ? TestMachine.DATA + data.consumeInt(0, 0xfff) : data.consumeInt();
            }
            start.eflags = 0x202 | (data.consumeInt() & 0xcd5);
            m.cpu.loadState(start);
            int budget = data.consumeInt(1, 256);
            byte[] page = data.consumeBytes(data.consumeInt(0, 4096));
            MemorySegment.copy(MemorySegment.ofArray(page), 0, m.ram, TestMachine.DATA, page.length);
            byte[] code = data.consumeRemainingAsBytes();
            MemorySegment.copy(MemorySegment.ofArray(code), 0, m.ram, TestMachine.CODE, Math.min(code.length, 0x10000));

            CpuExit exit = m.cpu.run(budget);
            boolean defined = switch (exit.reason()) {
                case VECTOR -> exit.vector() >= 0 && exit.vector() < 256;
                case BUDGET, SHUTDOWN -> true;
                // Only HLT at CPL 0 hands the CPU back, and no input starts at CPL 0.
                case INTERRUPTED -> false;
            };
            assertTrue(defined, "exit " + exit + " at CPL " + (user ? 3 : 1));
            assertEquals(0, m.cpu.internalErrors, "interpreter internal errors");
        }
    }
}
