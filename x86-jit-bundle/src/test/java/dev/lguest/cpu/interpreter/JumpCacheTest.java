// The translating CPU's jump cache (JumpCache) against the interpreter, on the
// transfers it serves and the ways its entries could go stale: a function called from
// three sites through a pointer whose return address is sometimes replaced (a RET to
// somewhere other than the pushed address), a called page remapped to other code by
// the host between two runs in which no new epoch starts (only INVLPG renews the link
// generation), code rewritten through a second mapping of its page, deep recursion,
// and a longjmp-like unwinding (ESP restored from a saved value, a jump through a saved
// address). Every block is compiled at its first run; each program's end state must be
// the interpreter's, hold the values the program computes, and the cache must have
// answered some transfers (or it was not what ran).
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.HOST_EXIT;
import static dev.lguest.cpu.interpreter.TestMachine.PAGE_TABLE;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class JumpCacheTest {
    /** Where the remapped and rewritten functions are called, and the frames behind it. */
    private static final int FUNCTION = 0x300000, OTHER_FRAME = 0x302000, SECOND_MAPPING = 0x301000;

    @Test
    void returnToAnotherAddressThanThePushedOne() {
        int[] program = concat(
            new int[] {0xb9, 0x3c, 0x00, 0x00, 0x00}, // 00: mov ecx, 60
            new int[] {0xc7, 0x05, 0x00, 0x00, 0x02, 0x00, 0x2c, 0x00, 0x01, 0x00}, // 05: mov dword [0x20000], F
            // L:
            new int[] {0xff, 0x15, 0x00, 0x00, 0x02, 0x00}, // 0f: call [0x20000]
            new int[] {0x01, 0xc3}, // 15: add ebx, eax
            new int[] {0xff, 0x15, 0x00, 0x00, 0x02, 0x00}, // 17: call [0x20000]
            new int[] {0x31, 0xc3}, // 1d: xor ebx, eax
            new int[] {0xff, 0x15, 0x00, 0x00, 0x02, 0x00}, // 1f: call [0x20000]
            new int[] {0xd1, 0xe3}, // 25: shl ebx, 1
            new int[] {0x49}, // 27: dec ecx
            new int[] {0x75, 0xe5}, // 28: jnz L
            new int[] {0xcd, 0x1f}, // 2a: int 0x1f
            // F:
            new int[] {0x8d, 0x04, 0x19}, // 2c: lea eax, [ecx+ebx]
            new int[] {0xf6, 0xc1, 0x03}, // 2f: test cl, 3
            new int[] {0x75, 0x07}, // 32: jnz .plain
            new int[] {0xc7, 0x04, 0x24, 0x3c, 0x00, 0x01, 0x00}, // 34: mov dword [esp], AWAY
            // .plain:
            new int[] {0xc3}, // 3b: ret
            // AWAY:
            new int[] {0x46}, // 3c: inc esi
            new int[] {0x49}, // 3d: dec ecx
            new int[] {0x75, 0xcf}, // 3e: jnz L
            new int[] {0xcd, 0x1f}); // 40: int 0x1f
        CpuState end = agreeWithTheInterpreter(program, m -> {
        }, null);
        assertEquals(15, end.gpr[X86.ESI], "every fourth pass returned to AWAY instead");
    }

    @Test
    void calledPageRemappedBetweenRunsRunsTheNewCode() {
        int[] program = concat(
            new int[] {0xb9, 0x28, 0x00, 0x00, 0x00}, // 00: mov ecx, 40
            new int[] {0xc7, 0x05, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x30, 0x00}, // 05: mov dword [0x20000], 0x300000
            // L:
            new int[] {0xff, 0x15, 0x00, 0x00, 0x02, 0x00}, // 0f: call [0x20000]
            new int[] {0x01, 0xc3}, // 15: add ebx, eax
            new int[] {0xe8, 0x0e, 0x00, 0x00, 0x00}, // 17: call G
            new int[] {0x49}, // 1c: dec ecx
            new int[] {0x83, 0xf9, 0x14}, // 1d: cmp ecx, 20
            new int[] {0x75, 0x02}, // 20: jne .go
            new int[] {0xcd, 0x1f}, // 22: int 0x1f
            // .go:
            new int[] {0x85, 0xc9}, // 24: test ecx, ecx
            new int[] {0x75, 0xe7}, // 26: jnz L
            new int[] {0xcd, 0x1f}, // 28: int 0x1f
            // G:
            new int[] {0x46}, // 2a: inc esi
            new int[] {0xc3}); // 2b: ret
        CpuState end = agreeWithTheInterpreter(program, m -> {
            m.load(FUNCTION, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3); // mov eax, 1; ret
            m.load(OTHER_FRAME, 0xb8, 0x00, 0x01, 0x00, 0x00, 0xc3); // mov eax, 0x100; ret
        }, (m, cpu) -> {
            // The host points the page at the other frame and flushes the one page, as
            // lguest's shadow page tables do; the next run starts no new epoch.
            m.write32(PAGE_TABLE + (FUNCTION >>> 12) * 4, OTHER_FRAME | 7);
            cpu.invalidatePage(FUNCTION);
        });
        assertEquals(20 * 1 + 20 * 0x100, end.gpr[X86.EBX]);
    }

    @Test
    void codeRewrittenThroughASecondMappingRunsTheNewCode() {
        int[] program = concat(
            new int[] {0xb9, 0x28, 0x00, 0x00, 0x00}, // 00: mov ecx, 40
            new int[] {0xc7, 0x05, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x30, 0x00}, // 05: mov dword [0x20000], 0x300000
            // L:
            new int[] {0xff, 0x15, 0x00, 0x00, 0x02, 0x00}, // 0f: call [0x20000]
            new int[] {0x01, 0xc3}, // 15: add ebx, eax
            new int[] {0x83, 0xf9, 0x14}, // 17: cmp ecx, 20
            new int[] {0x75, 0x0a}, // 1a: jne .go
            new int[] {0xc7, 0x05, 0x01, 0x10, 0x30, 0x00, 0x07, 0x00, 0x00, 0x00}, // 1c: mov dword [0x301001], 7
            // .go:
            new int[] {0x49}, // 26: dec ecx
            new int[] {0x75, 0xe6}, // 27: jnz L
            new int[] {0xcd, 0x1f}); // 29: int 0x1f
        CpuState end = agreeWithTheInterpreter(program, m -> {
            m.load(FUNCTION, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3); // mov eax, 1; ret
            m.write32(PAGE_TABLE + (SECOND_MAPPING >>> 12) * 4, FUNCTION | 7);
        }, null);
        assertEquals(21 * 1 + 19 * 7, end.gpr[X86.EBX]);
    }

    @Test
    void deepRecursionAndALongjmpUnwinding() {
        int[] program = concat(
            new int[] {0xb8, 0xb8, 0x0b, 0x00, 0x00}, // 00: mov eax, 3000
            new int[] {0xe8, 0x34, 0x00, 0x00, 0x00}, // 05: call DEEP
            new int[] {0x89, 0xc3}, // 0a: mov ebx, eax
            new int[] {0xb8, 0xb8, 0x0b, 0x00, 0x00}, // 0c: mov eax, 3000
            new int[] {0xe8, 0x28, 0x00, 0x00, 0x00}, // 11: call DEEP
            new int[] {0x01, 0xc3}, // 16: add ebx, eax
            new int[] {0xbf, 0x1e, 0x00, 0x00, 0x00}, // 18: mov edi, 30
            // AGAIN:
            new int[] {0x89, 0x25, 0x04, 0x00, 0x02, 0x00}, // 1d: mov [0x20004], esp
            new int[] {0xc7, 0x05, 0x08, 0x00, 0x02, 0x00, 0x37, 0x00, 0x01, 0x00}, // 23: mov dword [0x20008], BACK
            new int[] {0xb8, 0x28, 0x00, 0x00, 0x00}, // 2d: mov eax, 40
            new int[] {0xe8, 0x17, 0x00, 0x00, 0x00}, // 32: call R
            // BACK:
            new int[] {0x01, 0xd3}, // 37: add ebx, edx
            new int[] {0x4f}, // 39: dec edi
            new int[] {0x75, 0xe1}, // 3a: jnz AGAIN
            new int[] {0xcd, 0x1f}, // 3c: int 0x1f
            // DEEP:
            new int[] {0x85, 0xc0}, // 3e: test eax, eax
            new int[] {0x74, 0x0b}, // 40: jz .bottom
            new int[] {0x50}, // 42: push eax
            new int[] {0x48}, // 43: dec eax
            new int[] {0xe8, 0xf5, 0xff, 0xff, 0xff}, // 44: call DEEP
            new int[] {0x59}, // 49: pop ecx
            new int[] {0x01, 0xc8}, // 4a: add eax, ecx
            new int[] {0xc3}, // 4c: ret
            // .bottom:
            new int[] {0xc3}, // 4d: ret
            // R:
            new int[] {0x42}, // 4e: inc edx
            new int[] {0x48}, // 4f: dec eax
            new int[] {0x74, 0x06}, // 50: jz .jump
            new int[] {0xe8, 0xf7, 0xff, 0xff, 0xff}, // 52: call R
            new int[] {0xc3}, // 57: ret
            // .jump:
            new int[] {0x8b, 0x25, 0x04, 0x00, 0x02, 0x00}, // 58: mov esp, [0x20004]
            new int[] {0xff, 0x25, 0x08, 0x00, 0x02, 0x00}); // 5e: jmp [0x20008]
        CpuState end = agreeWithTheInterpreter(program, m -> {
        }, null);
        assertEquals(2 * 4_501_500 + 40 * (30 * 31 / 2), end.gpr[X86.EBX]);
    }

    /**
     * Runs the program at CODE on the interpreter and on the translator (every block
     * compiled at once) to its last INT 0x1f; at an INT 0x1f before that, {@code between}
     * (when given) changes the machine and the run goes on with no new epoch. Asserts
     * the same exits and state and that the jump cache answered; returns the end state.
     */
    private static CpuState agreeWithTheInterpreter(int[] program, Consumer<TestMachine> setUp,
            java.util.function.BiConsumer<TestMachine, InterpreterCpu> between) {
        CpuState[] ends = new CpuState[2];
        String[] exits = new String[2];
        for (int which = 0; which < 2; which++) {
            try (TestMachine m = new TestMachine()) {
                InterpreterCpu cpu = which == 0 ? new InterpreterCpu(m.bus) : new TranslatingCpu(m.bus, 0, true);
                cpu.loadState(m.cpu.saveState());
                setUp.accept(m);
                m.load(CODE, program);
                cpu.setEip(CODE);
                StringBuilder seen = new StringBuilder();
                CpuExit exit = cpu.run(1_000_000);
                seen.append(exit);
                if (between != null) {
                    assertEquals(ExitReason.VECTOR, exit.reason());
                    between.accept(m, cpu);
                    exit = cpu.run(1_000_000, true);
                    seen.append(' ').append(exit);
                }
                assertEquals(ExitReason.VECTOR, exit.reason(), seen.toString());
                assertEquals(HOST_EXIT, exit.vector(), seen.toString());
                ends[which] = cpu.saveState();
                exits[which] = seen.toString();
                if (cpu instanceof TranslatingCpu translator) {
                    assertEquals(0, translator.internalErrors + translator.translationFailures);
                    assertTrue(translator.jumps.hits > 0, "the jump cache answered no transfer");
                }
            }
        }
        assertEquals(exits[0], exits[1]);
        assertEquals(ends[0], ends[1]);
        return ends[1];
    }
}
