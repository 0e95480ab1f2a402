// The status flags of the fast 32-bit ALU forms are worked out only when read, and a
// block's closing compare-and-branch pair runs as one step. Neither may show: flags
// read by PUSHF, saveState or a partial-flag instruction are those the manual
// defines, and a budget ending between the two instructions of a pair stops exactly there.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.AF;
import static dev.lguest.api.cpu.X86.CF;
import static dev.lguest.api.cpu.X86.EAX;
import static dev.lguest.api.cpu.X86.EBX;
import static dev.lguest.api.cpu.X86.ECX;
import static dev.lguest.api.cpu.X86.OF;
import static dev.lguest.api.cpu.X86.PF;
import static dev.lguest.api.cpu.X86.SF;
import static dev.lguest.api.cpu.X86.ZF;
import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.ExitReason;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LazyFlagsTest {
    private static final int STATUS = CF | PF | AF | ZF | SF | OF;
    private static final int[] RETURN = {0xcd, 0x1f};

    private static int statusAfter(int[] program) {
        try (TestMachine m = new TestMachine()) {
            m.program(concat(program, RETURN));
            assertEquals(ExitReason.VECTOR, m.run().reason());
            return m.cpu.saveState().eflags & STATUS;
        }
    }

    @Test
    void saveStateWorksOutAPendingAdd() {
        // 0x7fffffff + 1 = 0x80000000: signed overflow, sign, carry out of bit 3, even low byte.
        int[] program = concat(new int[] {0xb8}, imm32(0x7fffffff), new int[] {0x83, 0xc0, 0x01}); // add eax, 1
        assertEquals(OF | SF | AF | PF, statusAfter(program));
    }

    @Test
    void saveStateWorksOutAPendingCompareWithBorrow() {
        // cmp eax, ebx with 1 - 2: borrow (CF), sign, AF from bit 3, low byte 0xff even parity.
        int[] program = concat(new int[] {0xb8}, imm32(1), new int[] {0xbb}, imm32(2), new int[] {0x39, 0xd8});
        assertEquals(CF | SF | AF | PF, statusAfter(program));
    }

    @Test
    void incrementKeepsTheCarryOfAPendingCompare() {
        // cmp eax, 2 (1 < 2 sets CF), then inc eax: CF stays, ZF/SF/PF/AF/OF are INC's.
        int[] program = concat(new int[] {0xb8}, imm32(1), new int[] {0x83, 0xf8, 0x02, 0x40});
        assertEquals(CF, statusAfter(program)); // eax = 2: not zero, odd parity, no AF
    }

    @Test
    void pushfSeesPendingLogicFlags() {
        // xor eax, eax then pushf; pop ebx: ZF and PF set, CF and OF clear.
        int[] program = {0xb8, 0xff, 0xff, 0xff, 0xff, 0xf9, 0x31, 0xc0, 0x9c, 0x5b}; // stc first: XOR clears CF
        try (TestMachine m = new TestMachine()) {
            m.program(concat(program, RETURN));
            assertEquals(ExitReason.VECTOR, m.run().reason());
            assertEquals(ZF | PF, m.cpu.gpr(EBX) & STATUS);
        }
    }

    @Test
    void adcAfterAPendingAddUsesItsCarry() {
        // add eax, ebx overflows 32 bits (CF = 1); adc ecx, 0 then adds it.
        int[] program = concat(new int[] {0xb8}, imm32(-1), new int[] {0xbb}, imm32(1), new int[] {0xb9}, imm32(10),
                new int[] {0x01, 0xd8, 0x83, 0xd1, 0x00});
        try (TestMachine m = new TestMachine()) {
            m.program(concat(program, RETURN));
            assertEquals(ExitReason.VECTOR, m.run().reason());
            assertEquals(11, m.cpu.gpr(ECX));
            assertEquals(0, m.cpu.gpr(EAX));
        }
    }

    @Test
    void signedAndUnsignedBranchesAfterCompare() {
        // For each pair, setcc of every condition after cmp eax, ebx, compared with the
        // flags saveState works out: the operand shortcut and the full flags must agree.
        int[][] pairs = {{1, 2}, {2, 1}, {5, 5}, {0x80000000, 1}, {1, 0x80000000}, {-1, 0}, {0x7fffffff, -1}};
        for (int[] pair : pairs) {
            for (int cc = 0; cc < 16; cc++) {
                int[] program = concat(new int[] {0xb8}, imm32(pair[0]), new int[] {0xbb}, imm32(pair[1]),
                        new int[] {0x31, 0xc9, 0x39, 0xd8, 0x0f, 0x90 + cc, 0xc1}); // xor ecx,ecx; cmp; setcc cl
                try (TestMachine m = new TestMachine()) {
                    m.program(concat(program, RETURN));
                    assertEquals(ExitReason.VECTOR, m.run().reason());
                    boolean expected = Alu.condition(cc, m.cpu.saveState().eflags);
                    assertEquals(expected ? 1 : 0, m.cpu.gpr(ECX), "cc " + cc + " after cmp " + pair[0] + ", " + pair[1]);
                }
            }
        }
    }

    /** mov ecx, 3; L: add ebx, 1; dec ecx; jnz L; int 0x1f: blocks ending in a DEC/JNZ pair. */
    private static int[] countingLoop() {
        return concat(new int[] {0x31, 0xdb, 0xb9}, imm32(3), new int[] {0x83, 0xc3, 0x01, 0x49, 0x75, 0xfa}, RETURN);
    }

    @Test
    void budgetEndingInsideACompareAndBranchPairStopsBetweenThem() {
        List<Integer> eipsOneByOne = new ArrayList<>();
        long total = 0;
        try (TestMachine m = new TestMachine()) {
            m.program(countingLoop());
            while (true) {
                CpuExit exit = m.cpu.run(1);
                total += exit.instructions();
                if (exit.reason() == ExitReason.VECTOR) {
                    break;
                }
                assertEquals(ExitReason.BUDGET, exit.reason());
                assertEquals(1, exit.instructions());
                eipsOneByOne.add(m.cpu.eip());
            }
            assertEquals(3, m.cpu.gpr(EBX));
        }
        // xor, mov, then three rounds of add/dec/jnz, then int: 12 instructions.
        assertEquals(12, total);
        int loop = CODE + 7;
        assertEquals(List.of(CODE + 2, loop, loop + 3, loop + 4, loop, loop + 3, loop + 4, loop, loop + 3, loop + 4,
                loop + 6), eipsOneByOne);
        // Every budget gives the same count and end state as one unbounded run.
        for (int budget = 2; budget <= 6; budget++) {
            try (TestMachine m = new TestMachine()) {
                m.program(countingLoop());
                long counted = 0;
                CpuExit exit;
                do {
                    exit = m.cpu.run(budget);
                    counted += exit.instructions();
                } while (exit.reason() == ExitReason.BUDGET);
                assertEquals(ExitReason.VECTOR, exit.reason());
                assertEquals(12, counted, "budget " + budget);
                assertEquals(3, m.cpu.gpr(EBX));
                assertEquals(0, m.cpu.gpr(ECX));
            }
        }
    }

    @Test
    void pendingFlagsSurviveASwapToAnotherCpu() {
        // cmp eax, ebx (2 - 5: below and less), then stop on the budget before the jb:
        // the second CPU, given only saveState's value, must take the branch.
        int[] program = concat(new int[] {0xb8}, imm32(2), new int[] {0xbb}, imm32(5), new int[] {0x39, 0xd8},
                new int[] {0x72, 0x07}, new int[] {0xb9}, imm32(1), RETURN, // jb over "mov ecx, 1; int 0x1f"
                new int[] {0xb9}, imm32(2), RETURN); // taken: ecx = 2
        try (TestMachine m = new TestMachine()) {
            m.program(program);
            assertEquals(ExitReason.BUDGET, m.cpu.run(3).reason());
            var state = m.cpu.saveState();
            InterpreterCpu second = CpuUnderTest.create(m.bus);
            second.loadState(state);
            assertEquals(ExitReason.VECTOR, second.run(100).reason());
            assertEquals(2, second.gpr(ECX));
            assertEquals(CF | SF | AF, second.saveState().eflags & STATUS); // 2 - 5 = 0xfffffffd: odd parity
        }
    }

    @Test
    void loadStateReplacesPendingFlags() {
        try (TestMachine m = new TestMachine()) {
            m.program(concat(new int[] {0x31, 0xc0}, RETURN)); // xor eax, eax: ZF pending
            m.run();
            var state = m.cpu.saveState();
            state.eflags = (state.eflags & ~STATUS) | CF;
            m.cpu.loadState(state);
            assertEquals(CF, m.cpu.saveState().eflags & STATUS);
            assertEquals(0, m.cpu.gpr(EAX));
        }
    }
}
