// The chain of compiled blocks (BlockChain) goes on across INT and IRET, where a ring
// change ends a block, instead of handing each one back to the run loop; it must stop
// exactly where the interpreter's run loop would, at every budget and threshold. The
// program is the Linux benchmark's syscalls loop without Linux: ring 1 code sets a DPL 3
// gate for INT 0x80 and IRETs to user code, which calls it twenty times; the handler
// saves FS, ES and DS, loads them as Linux 2.6.24's entry does (the user data segment,
// then a null FS), counts the call in memory, restores them and returns with IRET.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.IDT;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_CODE;
import static dev.lguest.cpu.interpreter.TestMachine.USER_CODE;
import static dev.lguest.cpu.interpreter.TestMachine.USER_DATA;
import static dev.lguest.cpu.interpreter.TestMachine.USER_STACK;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lguest.api.cpu.X86;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SystemCallChainTest {
    private static final int USER = 0x30, HANDLER = 0x50, CALLS = 20;
    private static final int[] PROGRAM = program();

    private static int[] program() {
        int[] program = new int[0x80];
        Arrays.fill(program, 0x90);
        int handler = CODE + HANDLER;
        place(program, 0, concat(
                new int[] {0xc7, 0x05}, imm32(IDT + 0x80 * 8), imm32((KERNEL_CODE << 16) | (handler & 0xffff)),
                new int[] {0xc7, 0x05}, imm32(IDT + 0x80 * 8 + 4),
                imm32((handler & 0xffff0000) | 0x8000 | (3 << 13) | (0xe << 8)), // 0a: the gate, DPL 3
                new int[] {0x68}, imm32(USER_DATA), new int[] {0x68}, imm32(USER_STACK), // 14: ss, esp
                new int[] {0x9c, 0x68}, imm32(USER_CODE), new int[] {0x68}, imm32(CODE + USER), // 1e: eflags, cs, eip
                new int[] {0xcf})); // 29: iret
        place(program, USER, concat(
                new int[] {0xb9}, imm32(CALLS), // 30: mov ecx, CALLS
                new int[] {0xb8}, imm32(20), // 35: L: mov eax, 20
                new int[] {0xcd, 0x80}, // 3a: int 0x80
                new int[] {0x01, 0xc3}, // 3c: add ebx, eax
                new int[] {0x49}, // 3e: dec ecx
                new int[] {0x75, 0xf4}, // 3f: jnz L
                new int[] {0xcd, TestMachine.HOST_EXIT})); // 41: int 0x1f
        place(program, HANDLER, concat(
                new int[] {0x0f, 0xa0, 0x06, 0x1e, 0x50}, // push fs / push es / push ds / push eax
                new int[] {0xba}, imm32(USER_DATA), new int[] {0x8e, 0xda, 0x8e, 0xc2}, // mov ds, edx / mov es, edx
                new int[] {0x31, 0xd2, 0x8e, 0xe2}, // xor edx, edx / mov fs, edx
                new int[] {0xff, 0x05}, imm32(DATA), // inc dword [DATA]
                new int[] {0x58, 0x1f, 0x07, 0x0f, 0xa1, 0xcf})); // pop eax / pop ds / pop es / pop fs / iret
        return program;
    }

    @Test
    void theChainStopsWhereTheInterpreterDoesAcrossRingChanges() {
        // The ring 1 prologue (8), the count's MOV, CALLS rounds of 5 user and 15
        // handler instructions, and the INT that exits.
        for (int threshold : new int[] {0, 1, 3, 7}) {
            assertEquals(8 + 1 + CALLS * 20 + 1,
                    TranslatorTest.stopsExactlyOnEveryBudget(PROGRAM, 1_000, false, threshold),
                    "threshold " + threshold);
        }
    }

    @Test
    void everyCallIsCountedAndReturnsToUserCode() {
        try (TestMachine m = new TestMachine()) {
            TranslatingCpu cpu = new TranslatingCpu(m.bus, 0, true);
            TranslatorTest.runToHostExit(m, cpu, PROGRAM);
            assertEquals(CALLS, m.read32(DATA));
            assertEquals(CALLS * 20, cpu.gpr(X86.EBX));
            assertEquals(3, cpu.saveState().cpl());
        }
    }

    private static void place(int[] program, int at, int[] code) {
        System.arraycopy(code, 0, program, at, code.length);
    }
}
