// The lazy CMP of bytes and words (NarrowCompare) against the interpreter: for pairs
// of operands at the edges of each size (0, 1, the largest positive, the smallest
// negative, -1 and their neighbours), a CMP in each of its forms (registers, memory
// with a sign-extended immediate, AL/AX with an immediate) followed by all sixteen
// SETcc into memory (each condition worked out from the record in the block), then all
// sixteen Jcc in turn (each taken one leaves the block, so the next block reads the
// flags the record left in the CPU), and PUSHF; then a fault right after a CMP (the
// fault commits the flags worked out from the record), and a CMP whose condition is
// read across a loop's back edge. Exit, whole CpuState and RAM must agree.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_STACK;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static dev.lguest.cpu.interpreter.TranslatorTest.stopsExactlyOnEveryBudget;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.X86;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class NarrowCompareTest {
    private static final int[] BYTES = {0, 1, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff};
    private static final int[] WORDS = {0, 1, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff, 0x80};

    /** After the CMP: SETcc of every condition into [EDI+cc], every Jcc over an INC of ESI (which sets no flag read after), PUSHF, exit. */
    private static int[] readers() {
        List<Integer> out = new ArrayList<>();
        for (int cc = 0; cc < 16; cc++) {
            out.addAll(List.of(0x0f, 0x90 + cc, 0x47, cc)); // setcc [edi + cc]
        }
        for (int cc = 0; cc < 16; cc++) {
            // jcc +3 over lea esi, [esi + 1 << cc] (no flags), so each branch leaves its mark.
            out.addAll(List.of(0x70 + cc, 0x06, 0x8d, 0xb6));
            for (int b : imm32(1 << cc)) {
                out.add(b);
            }
        }
        out.addAll(List.of(0x9c, 0xcd, 0x1f)); // pushf; int 0x1f
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The CMP forms of one size: cmp r/m, reg; cmp reg, r/m; cmp [esi], imm8; cmp AL/AX, imm. */
    private static List<int[]> compares(boolean word, int immediate) {
        int[] prefix = word ? new int[] {0x66} : new int[0];
        int rm = word ? 0x39 : 0x38, r = word ? 0x3b : 0x3a;
        List<int[]> forms = new ArrayList<>();
        forms.add(concat(prefix, new int[] {rm, 0xd8})); // cmp al/ax, bl/bx
        forms.add(concat(prefix, new int[] {r, 0x06})); // cmp al/ax, [esi]
        forms.add(concat(prefix, new int[] {word ? 0x83 : 0x80, 0x3e, immediate & 0xff})); // cmp [esi], imm8
        forms.add(concat(prefix, word ? new int[] {0x3d, immediate & 0xff, (immediate >>> 8) & 0xff}
                : new int[] {0x3c, immediate & 0xff})); // cmp al/ax, imm
        return forms;
    }

    @Test
    void everyConditionAfterAByteOrWordCompareAgreesWithTheInterpreter() {
        int[] readers = readers();
        int programs = 0;
        try (TranslatorPair pair = new TranslatorPair()) {
            for (boolean word : new boolean[] {false, true}) {
                int[] values = word ? WORDS : BYTES;
                for (int a : values) {
                    for (int b : values) {
                        // Memory and immediate operands: b (the imm8 forms take its low byte, sign-extended for words).
                        byte[] data = {(byte) b, (byte) (b >>> 8), 0, 0};
                        for (int[] compare : compares(word, b)) {
                            int[] program = concat(compare, readers);
                            int eax = 0x5a5a0000 | a, ebx = 0x3c3c0000 | b;
                            String difference = pair.run(program, s -> {
                                s.gpr[X86.EAX] = eax;
                                s.gpr[X86.EBX] = ebx;
                                s.gpr[X86.ESI] = DATA;
                                s.gpr[X86.EDI] = DATA + 0x100;
                                s.gpr[X86.ESP] = KERNEL_STACK - 0x100;
                                s.eflags = 0x202 | X86.CF | X86.OF;
                            }, data);
                            assertEquals(null, difference, (word ? "word " : "byte ") + Integer.toHexString(a) + " vs "
                                    + Integer.toHexString(b) + " form " + Integer.toHexString(compare[word ? 1 : 0]));
                            programs++;
                        }
                    }
                }
            }
            assertTrue(pair.translator.blocksCompiled > programs, pair.translator.blocksCompiled + " compiled");
        }
    }

    /** A load that faults right after a byte CMP: the page fault shows the CMP's flags, worked out. */
    @Test
    void aFaultAfterANarrowCompareCommitsItsFlags() {
        for (int a : BYTES) {
            try (TranslatorPair pair = new TranslatorPair()) {
                int[] program = concat(
                        new int[] {0x38, 0xd8}, // cmp al, bl
                        new int[] {0x8b, 0x15}, imm32(TestMachine.RAM_SIZE + 0x1000), // mov edx, [beyond RAM]
                        new int[] {0xcd, 0x1f});
                String difference = pair.run(program, s -> {
                    s.gpr[X86.EAX] = a;
                    s.gpr[X86.EBX] = 0x80;
                    s.gpr[X86.ESP] = KERNEL_STACK - 0x100;
                }, new byte[4]);
                assertEquals(null, difference, "al " + Integer.toHexString(a));
                assertEquals(14, pair.lastExit.vector(), "a page fault");
            }
        }
    }

    /**
     * A byte CMP's signed condition read at a loop head from the record of the back edge
     * (the record goes to the head as six flags), and a CF-only head (INC, then ADC) after
     * a byte CMP's back edge; every budget, so the heads are also entered from the run loop.
     */
    @Test
    void aNarrowCompareAcrossALoopsBackEdgeAgreesWithTheInterpreter() {
        int[] program = concat(
                new int[] {0xb9}, imm32(300), // mov ecx, 300
                new int[] {0x0f, 0x9c, 0xc3}, // L: setl bl
                new int[] {0x01, 0xde}, // add esi, ebx
                new int[] {0x40}, // M: inc eax (CF from the back edge)
                new int[] {0x83, 0xd7, 0x00}, // adc edi, 0
                new int[] {0x04, 0x3b}, // add al, 0x3b
                new int[] {0x3c, 0x90}, // cmp al, 0x90
                new int[] {0x7c, 0xf1}, // jl L (signed: SF != OF)
                new int[] {0x3c, 0x20}, // cmp al, 0x20
                new int[] {0x72, 0xf2}, // jb M (the block at M: a CF-only head, INC then ADC)
                new int[] {0x49}, // dec ecx
                new int[] {0x75, 0xea}, // jnz L
                new int[] {0xcd, 0x1f});
        assertTrue(stopsExactlyOnEveryBudget(program, Integer.MAX_VALUE) > 300 * 5);
    }
}
