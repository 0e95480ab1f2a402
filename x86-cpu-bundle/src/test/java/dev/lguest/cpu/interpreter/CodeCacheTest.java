// Decoded code must never outlive the bytes it came from: stores by the CPU into a
// block (later in the same block, or in a loop), and writes to RAM from outside the
// CPU between runs, must both be seen by the next execution.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.EAX;
import static dev.lguest.api.cpu.X86.EBX;
import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.ExitReason;
import org.junit.jupiter.api.Test;

class CodeCacheTest {
    @Test
    void storeIntoTheNextInstructionOfTheSameBlock() {
        try (TestMachine m = new TestMachine()) {
            m.program(concat(
                    new int[] {0xc6, 0x05}, imm32(CODE + 8), new int[] {0x42}, // mov byte [CODE+8], 0x42
                    new int[] {0xb8}, imm32(0), // mov eax, 0 (its immediate is patched above)
                    new int[] {0xcd, 0x1f}));
            CpuExit exit = m.run();
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(0x42, m.cpu.gpr(EAX));
            assertEquals(3, exit.instructions());
        }
    }

    @Test
    void loopPatchingItsOwnCode() {
        try (TestMachine m = new TestMachine()) {
            m.program(concat(
                    new int[] {0x31, 0xdb}, // xor ebx, ebx
                    new int[] {0xb9}, imm32(2), // mov ecx, 2
                    new int[] {0xb8}, imm32(0x11111111), // L (CODE+7): mov eax, imm (at CODE+8)
                    new int[] {0x01, 0xc3}, // add ebx, eax
                    new int[] {0xc7, 0x05}, imm32(CODE + 8), imm32(0x22222222), // mov [CODE+8], imm
                    new int[] {0xe2, 0xed}, // loop L
                    new int[] {0xcd, 0x1f}));
            CpuExit exit = m.run();
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(0x33333333, m.cpu.gpr(EBX));
        }
    }

    @Test
    void codeRewrittenBehindTheCpuBetweenRuns() {
        try (TestMachine m = new TestMachine()) {
            for (int value = 1; value <= 3; value++) {
                m.program(concat(new int[] {0xb8}, imm32(value), new int[] {0xcd, 0x1f}));
                assertEquals(ExitReason.VECTOR, m.run().reason());
                assertEquals(value, m.cpu.gpr(EAX));
            }
        }
    }
}
