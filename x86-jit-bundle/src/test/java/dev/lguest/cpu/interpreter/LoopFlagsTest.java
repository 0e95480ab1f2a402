// The flag record a loop's back edge takes to the loop head in locals (LoopFlags): loop
// heads that read CF (INC, ADC), a condition (SETcc) and all six flags (LAHF) from
// whichever back edge came last, each of a different kind (a CMP's lazy record, an
// INC's or DEC's with the CF it kept, six eager flags from a byte compare), and a loop
// head that faults, whose fault must show the flags the back edge brought. Each runs
// on the interpreter and the translator with many budgets (so the head is also entered
// from the run loop with the Alu's record of every kind) and the whole state must be
// the same at every stop.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TranslatorTest.stopsExactlyOnEveryBudget;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LoopFlagsTest {
    /**
     * INC and ADC at the head read the CF of three back edges: a CMP's (set), a byte
     * CMP's (eager, clear), a DEC's (the set CF it kept).
     */
    @Test
    void carryReadAtTheLoopHeadComesFromTheLastBackEdge() {
        int[] program = concat(
                new int[] {0xb9}, imm32(60), // mov ecx, 60
                new int[] {0xba}, imm32(0x13579bdf), // mov edx, 0x13579bdf
                new int[] {0xbe}, imm32(0x70000000), // mov esi, 0x70000000
                new int[] {0x40}, // L: inc eax (keeps the CF the back edge brought)
                new int[] {0x83, 0xd3, 0x00}, // adc ebx, 0
                new int[] {0xd1, 0xd7}, // rcl edi, 1
                new int[] {0x81, 0xc2}, imm32(0x9e3779b9), // add edx, 0x9e3779b9
                new int[] {0x39, 0xf2}, // cmp edx, esi
                new int[] {0x72, 0xf0}, // jb L (CF set)
                new int[] {0x80, 0xfa, 0x40}, // cmp dl, 0x40
                new int[] {0x73, 0xeb}, // jae L (CF clear, eager flags)
                new int[] {0x49}, // dec ecx (keeps CF set)
                new int[] {0x75, 0xe8}, // jnz L
                new int[] {0xcd, 0x1f});
        assertTrue(stopsExactlyOnEveryBudget(program, Integer.MAX_VALUE) > 60 * 8);
    }

    /** A condition (SETBE) and all six flags (LAHF) read at the head, after a DEC or a CMP. */
    @Test
    void conditionAndAllFlagsReadAtTheLoopHeadComeFromTheLastBackEdge() {
        int[] program = concat(
                new int[] {0xb9}, imm32(150), // mov ecx, 150
                new int[] {0xba}, imm32(7), // mov edx, 7
                new int[] {0x0f, 0x96, 0xc3}, // L: setbe bl
                new int[] {0x9f}, // lahf
                new int[] {0x0f, 0xb6, 0xfc}, // movzx edi, ah
                new int[] {0x01, 0xfe}, // add esi, edi
                new int[] {0x01, 0xde}, // add esi, ebx
                new int[] {0x69, 0xd2}, imm32(0x19660d), // imul edx, edx, 0x19660d
                new int[] {0x81, 0xc2}, imm32(0x3c6ef35f), // add edx, 0x3c6ef35f
                new int[] {0x81, 0xfa}, imm32(0x60000000), // cmp edx, 0x60000000
                new int[] {0x77, 0xe1}, // ja L (after a CMP)
                new int[] {0x49}, // dec ecx (ZF and SF from the result, CF from the CMP)
                new int[] {0x75, 0xde}, // jnz L
                new int[] {0xcd, 0x1f});
        assertTrue(stopsExactlyOnEveryBudget(program, Integer.MAX_VALUE) > 150 * 10);
    }

    /**
     * A store at the loop head walks off the mapped memory: the page fault shows the
     * flags of the back edge taken last: a byte CMP's eager flags (from the 14th pass,
     * not those the block was entered with) or a doubleword CMP's record (from the 16th).
     */
    @Test
    void faultAtTheLoopHeadShowsTheFlagsTheBackEdgeBrought() {
        for (int passes : new int[] {14, 16}) {
            faultAtTheLoopHeadAfter(passes);
        }
    }

    private static void faultAtTheLoopHeadAfter(int passes) {
        int[] program = concat(
                new int[] {0xbe}, imm32(TestMachine.RAM_SIZE - passes * 0x300), // mov esi, passes stores below the end
                new int[] {0x89, 0x06}, // L: mov [esi], eax
                new int[] {0x81, 0xc6}, imm32(0x300), // add esi, 0x300
                new int[] {0x40}, // inc eax
                new int[] {0x3c, 0x0f}, // cmp al, 15
                new int[] {0x72, 0xf3}, // jb L (eager flags, while AL is below 15)
                new int[] {0x39, 0xf0}, // cmp eax, esi
                new int[] {0xeb, 0xef}, // jmp L (a CMP's record)
                new int[] {0xcd, 0x1f});
        assertTrue(stopsExactlyOnEveryBudget(program, Integer.MAX_VALUE, true) > passes * 4);
    }
}
