// The chain of compiled blocks (BlockChain) against the interpreter where it hands a
// block back to TranslatingCpu.runBlock: a next block not compiled yet (a translation
// threshold above zero, so blocks become compiled in the middle of a chain and the
// chain meets both kinds), and a next block longer than what is left of the budget.
// The program is call-heavy like the Linux benchmark's calls program: an indirect call
// through a pointer in memory, a recursive Fibonacci whose returns go to two places,
// and a loop around both. At every budget and threshold the whole state at every stop
// and the retired count must be the interpreter's, and so must a lockstep run's
// (TranslatorTest.stopsExactlyOnEveryBudget).
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.X86;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class BlockChainTest {
    private static final int F = 0x40, FIB = 0x50;
    private static final int[] PROGRAM = program();

    private static int[] program() {
        int[] program = new int[0x70];
        Arrays.fill(program, 0x90);
        place(program, 0, concat(
                new int[] {0xb9}, imm32(12), // 00: mov ecx, 12
                new int[] {0xc7, 0x05}, imm32(DATA), imm32(CODE + F), // 05: mov dword [DATA], F
                new int[] {0xff, 0x15}, imm32(DATA), // 0f: L: call [DATA]
                new int[] {0xb8}, imm32(5), // 15: mov eax, 5
                new int[] {0xe8}, imm32(FIB - 0x1f), // 1a: call FIB
                new int[] {0x01, 0xc3}, // 1f: add ebx, eax
                new int[] {0x49}, // 21: dec ecx
                new int[] {0x75, 0xeb}, // 22: jnz L
                new int[] {0xcd, 0x1f})); // 24: int 0x1f
        place(program, F, new int[] {0x01, 0xce, 0xc3}); // F: add esi, ecx; ret
        place(program, FIB, concat(
                new int[] {0x83, 0xf8, 0x02}, // 50: cmp eax, 2
                new int[] {0x72, 0x18}, // 53: jb .done
                new int[] {0x50}, // 55: push eax
                new int[] {0x48}, // 56: dec eax
                new int[] {0xe8}, imm32(FIB - 0x5c), // 57: call FIB
                new int[] {0x8b, 0x14, 0x24}, // 5c: mov edx, [esp]
                new int[] {0x89, 0x04, 0x24}, // 5f: mov [esp], eax
                new int[] {0x8d, 0x42, 0xfe}, // 62: lea eax, [edx - 2]
                new int[] {0xe8}, imm32(FIB - 0x6a), // 65: call FIB
                new int[] {0x5a}, // 6a: pop edx
                new int[] {0x01, 0xd0}, // 6b: add eax, edx
                new int[] {0xc3})); // 6d: .done: ret
        return program;
    }

    @Test
    void chainStopsWhereTheInterpreterDoesAtEveryBudgetAndThreshold() {
        // Twelve passes of 116 instructions (fib(5) alone is 108), the two moves before
        // them and the INT: the same count whichever CPU, budget and threshold.
        for (int threshold : new int[] {0, 1, 3, 7}) {
            assertEquals(2 + 12 * 116 + 1,
                    TranslatorTest.stopsExactlyOnEveryBudget(PROGRAM, Integer.MAX_VALUE, false, threshold),
                    "threshold " + threshold);
        }
    }

    @Test
    void blocksBecomeCompiledMidChainAndComputeTheSums() {
        try (TestMachine m = new TestMachine()) {
            TranslatingCpu cpu = new TranslatingCpu(m.bus, 3, true);
            TranslatorTest.runToHostExit(m, cpu, PROGRAM);
            assertTrue(cpu.blocksCompiled >= 6, cpu.blocksCompiled + " blocks compiled");
            // fib(5) is 5: twelve rounds add it, and esi the counts 12 down to 1.
            CpuState end = cpu.saveState();
            assertEquals(12 * 5, end.gpr[X86.EBX]);
            assertEquals(78, end.gpr[X86.ESI]);
        }
    }

    private static void place(int[] program, int at, int[] code) {
        System.arraycopy(code, 0, program, at, code.length);
    }
}
