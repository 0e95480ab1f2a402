// The translation threshold of user code (TranslatingCpu.userThreshold, the factory's
// lguest.jit.userThreshold): a block running at CPL 3 is compiled after its own count
// of runs, one at CPL 0 after the CPU's threshold. The same loop runs in both rings
// with a threshold of 1,000 and a user threshold of 3, on the translating CPU and on
// the interpreter, for the same budgets: only the user loop is compiled, and either
// way the whole state at every stop is the interpreter's.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.USER_STACK;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class UserThresholdTest {
    /** Two blocks calling each other for ever: a loop body ending in a call, and a function returning. */
    private static final int[] PROGRAM = concat(
            new int[] {0x01, 0xc8}, // 00: L: add eax, ecx
            new int[] {0x41}, // 02: inc ecx
            new int[] {0xe8}, imm32(0x04), // 03: call F
            new int[] {0xeb, 0xf6}, // 08: jmp L
            new int[] {0x90, 0x90}, // 0a: padding
            new int[] {0xd1, 0xc0}, // 0c: F: rol eax, 1
            new int[] {0xc3}); // 0e: ret

    @Test
    void userCodeIsCompiledAfterItsOwnThresholdAndAgreesWithTheInterpreter() {
        for (boolean user : new boolean[] {true, false}) {
            List<List<CpuState>> stops = List.of(new ArrayList<>(), new ArrayList<>());
            long compiled = -1;
            for (int which = 0; which < 2; which++) {
                try (TestMachine m = new TestMachine()) {
                    m.load(CODE, PROGRAM);
                    if (user) {
                        m.enterUserMode(CODE, USER_STACK);
                    } else {
                        m.cpu.setEip(CODE);
                    }
                    InterpreterCpu cpu;
                    if (which == 0) {
                        cpu = new InterpreterCpu(m.bus);
                    } else {
                        TranslatingCpu translator = new TranslatingCpu(m.bus, 1000, true);
                        translator.userThreshold = 3;
                        cpu = translator;
                    }
                    cpu.loadState(m.cpu.saveState());
                    // 200 instructions, six a pass: each block runs about 33 times, over 3, under 1,000.
                    for (long budget : new long[] {7, 1, 50, 3, 139}) {
                        CpuExit exit = cpu.run(budget);
                        assertEquals(ExitReason.BUDGET, exit.reason());
                        assertEquals(budget, exit.instructions());
                        stops.get(which).add(cpu.saveState());
                    }
                    if (cpu instanceof TranslatingCpu translator) {
                        assertEquals(0, translator.internalErrors + translator.translationFailures);
                        compiled = translator.blocksCompiled;
                    }
                }
            }
            String ring = user ? "CPL 3" : "CPL 0";
            assertEquals(stops.get(0), stops.get(1), ring);
            if (user) {
                assertTrue(compiled >= 2, ring + ": " + compiled + " blocks compiled");
            } else {
                assertEquals(0, compiled, ring);
            }
        }
    }
}
