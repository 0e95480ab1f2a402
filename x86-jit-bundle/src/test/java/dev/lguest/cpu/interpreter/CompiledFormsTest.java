// The forms the translator compiles beyond the first-generation table (ShiftForms,
// ByteWordForms, UnaryMultiplyDivideForms, MiscellaneousForms), checked against the
// interpreter: seeded random sequences drawn from those forms only (register and memory
// operands, 8-, 16- and 32-bit, random immediates, counts, registers and flags), each
// followed by flag readers (SETcc, Jcc, ADC, PUSHF), run on an interpreter and on the
// translator compiling every block at its first run; the exit, the whole CpuState and
// the whole RAM must agree. Then the edge cases the Intel manual singles out, each on
// its own: shift counts of 0 (flags kept, even pending ones), 1 (OF) and at or past the
// operand size, rotates through the carry of bytes, and a DIV that overflows (#DE
// before anything is written, at the DIV's EIP).
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_STACK;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class CompiledFormsTest {
    static final int SEQUENCES = Integer.getInteger("jit.formSequences", 20_000);

    /** The start state with these registers and flags. */
    private static Consumer<CpuState> state(int[] gpr, int eflags) {
        return s -> {
            System.arraycopy(gpr, 0, s.gpr, 0, 8);
            s.eflags = eflags;
        };
    }

    // ---- the random programs ----

    /** A ModRM byte with reg field {@code reg}: a register, or memory at [EBX+d8], [ESI], [EDI+d8]. */
    private static void modrm(Random random, List<Integer> out, int reg) {
        switch (random.nextInt(4)) {
            case 0, 1 -> out.add(0xc0 | (reg << 3) | random.nextInt(8));
            case 2 -> {
                out.add(0x43 | (reg << 3)); // [ebx + d8]
                out.add(random.nextInt(0x80));
            }
            default -> out.add((random.nextBoolean() ? 0x06 : 0x07) | (reg << 3)); // [esi], [edi]
        }
    }

    private static void immediate(Random random, List<Integer> out, int size) {
        int value = switch (random.nextInt(4)) {
            case 0 -> random.nextInt(4) - 1;
            case 1 -> 1 << random.nextInt(size * 8);
            default -> random.nextInt();
        };
        for (int i = 0; i < size; i++) {
            out.add((value >>> (8 * i)) & 0xff);
        }
    }

    /** One instruction of the compiled families, with its operand size chosen at random. */
    private static void instruction(Random random, List<Integer> out) {
        boolean word = random.nextInt(3) == 0;
        if (word) {
            out.add(0x66);
        }
        int z = word ? 2 : 4;
        switch (random.nextInt(23)) {
            case 0, 1 -> { // ALU r/m, reg and reg, r/m (00-3B)
                out.add((random.nextInt(8) << 3) | random.nextInt(4));
                modrm(random, out, random.nextInt(8));
            }
            case 2 -> { // ALU AL/eAX, imm
                int op = (random.nextInt(8) << 3) | 4 | random.nextInt(2);
                out.add(op);
                immediate(random, out, (op & 1) == 0 ? 1 : z);
            }
            case 3 -> { // 80, 81, 83
                int op = new int[] {0x80, 0x81, 0x83}[random.nextInt(3)];
                out.add(op);
                modrm(random, out, random.nextInt(8));
                immediate(random, out, op == 0x81 ? z : 1);
            }
            case 4 -> { // TEST, XCHG, MOV r/m (84-8B)
                out.add(0x84 + random.nextInt(8));
                modrm(random, out, random.nextInt(8));
            }
            case 5 -> { // TEST eAX, MOV r, imm
                int op = new int[] {0xa8, 0xa9, 0xb0 + random.nextInt(8), 0xb8 + random.nextInt(8)}[random.nextInt(4)];
                out.add(op);
                immediate(random, out, op == 0xa8 || (op >= 0xb0 && op < 0xb8) ? 1 : z);
            }
            case 6 -> { // MOV r/m, imm
                int op = 0xc6 + random.nextInt(2);
                out.add(op);
                modrm(random, out, 0);
                immediate(random, out, op == 0xc6 ? 1 : z);
            }
            case 7 -> out.add(0x40 + random.nextInt(16) & ~4); // INC/DEC r (not ESP)
            case 8 -> { // INC/DEC r/m, PUSH r/m
                int op = 0xfe + random.nextInt(2);
                out.add(op);
                modrm(random, out, op == 0xff && random.nextInt(4) == 0 ? 6 : random.nextInt(2));
            }
            case 9, 10, 11 -> { // shifts and rotates
                int op = new int[] {0xc0, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3}[random.nextInt(6)];
                out.add(op);
                modrm(random, out, random.nextInt(8));
                if (op < 0xd0) {
                    out.add(random.nextInt(4) == 0 ? random.nextInt(256) : random.nextInt(34));
                }
            }
            case 12, 13 -> { // group 3
                int op = 0xf6 + random.nextInt(2);
                out.add(op);
                int reg = random.nextInt(8);
                modrm(random, out, reg);
                if (reg < 2) {
                    immediate(random, out, op == 0xf6 ? 1 : z);
                }
            }
            case 14 -> { // MOVSX, MOVZX, BSF, BSR, IMUL r, r/m
                out.add(0x0f);
                out.add(new int[] {0xbe, 0xbf, 0xb6, 0xb7, 0xbc, 0xbd, 0xaf}[random.nextInt(7)]);
                modrm(random, out, random.nextInt(8));
            }
            case 15 -> { // SETcc, CMOVcc
                out.add(0x0f);
                out.add((random.nextBoolean() ? 0x90 : 0x40) + random.nextInt(16));
                modrm(random, out, random.nextInt(8));
            }
            case 16 -> { // CBW/CWDE, CWD/CDQ, XCHG eAX, PUSH imm, BSWAP, LEAVE
                switch (random.nextInt(6)) {
                    case 0 -> out.add(0x98 + random.nextInt(2));
                    case 1 -> out.add(0x91 + random.nextInt(7));
                    case 2 -> {
                        out.add(0x68);
                        immediate(random, out, z);
                    }
                    case 3 -> {
                        out.add(0x6a);
                        immediate(random, out, 1);
                    }
                    case 4 -> {
                        out.add(0x0f);
                        out.add(0xc8 + random.nextInt(8));
                    }
                    default -> out.add(0xc9);
                }
            }
            case 17, 18 -> { // BT, BTS, BTR, BTC
                out.add(0x0f);
                if (random.nextBoolean()) {
                    out.add(0xa3 + 8 * random.nextInt(4));
                    out.add(0xc0 | (random.nextInt(8) << 3) | random.nextInt(8));
                } else {
                    out.add(0xba);
                    modrm(random, out, 4 + random.nextInt(4));
                    out.add(random.nextInt(256));
                }
            }
            case 19 -> { // SHLD, SHRD
                out.add(0x0f);
                int op = new int[] {0xa4, 0xa5, 0xac, 0xad}[random.nextInt(4)];
                out.add(op);
                modrm(random, out, random.nextInt(8));
                if ((op & 1) == 0) {
                    out.add(random.nextInt(4) == 0 ? random.nextInt(256) : random.nextInt(34));
                }
            }
            case 21 -> { // IMUL r, r/m, imm
                int op = random.nextBoolean() ? 0x69 : 0x6b;
                out.add(op);
                modrm(random, out, random.nextInt(8));
                immediate(random, out, op == 0x69 ? z : 1);
            }
            default -> { // XADD, CMPXCHG
                out.add(0x0f);
                out.add(new int[] {0xc0, 0xc1, 0xb0, 0xb1}[random.nextInt(4)]);
                modrm(random, out, random.nextInt(8));
            }
        }
    }

    /** Something that reads the flags: SETcc into BL's neighbour CH, Jcc, ADC, SBB or PUSHF. */
    private static void flagReader(Random random, List<Integer> out) {
        switch (random.nextInt(5)) {
            case 0 -> {
                out.add(0x0f);
                out.add(0x90 + random.nextInt(16));
                out.add(0xc5); // setcc ch
            }
            case 1 -> {
                out.add(0x70 + random.nextInt(16));
                out.add(0x01);
                out.add(0x90);
            }
            case 2 -> {
                out.add(0x11 + 8 * random.nextInt(2)); // adc/sbb edx, eax
                out.add(0xc2);
            }
            case 3 -> out.add(0x9c); // pushf
            default -> {
            }
        }
    }

    private static int[] program(Random random) {
        List<Integer> out = new ArrayList<>();
        int count = 1 + random.nextInt(6);
        for (int i = 0; i < count; i++) {
            instruction(random, out);
            flagReader(random, out);
        }
        out.add(0xcd);
        out.add(0x1f);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void randomProgramsOfTheCompiledFormsAgreeWithTheInterpreter() {
        Random random = new Random(0x5eedf00dL);
        byte[] data = new byte[0x1100];
        int[] gpr = new int[8];
        try (TranslatorPair pair = new TranslatorPair()) {
            for (int i = 0; i < SEQUENCES; i++) {
                int[] program = program(random);
                random.nextBytes(data);
                for (int r = 0; r < 8; r++) {
                    gpr[r] = switch (random.nextInt(4)) {
                        case 0 -> random.nextInt(64);
                        case 1 -> -random.nextInt(3);
                        default -> random.nextInt();
                    };
                }
                gpr[X86.ESP] = KERNEL_STACK - 0x100;
                gpr[X86.EBX] = DATA + random.nextInt(0x1000);
                gpr[X86.ESI] = DATA;
                gpr[X86.EDI] = DATA + 0x800;
                gpr[X86.EBP] = random.nextBoolean() ? KERNEL_STACK - 0x80 : DATA + random.nextInt(0x1000);
                int eflags = 0x202 | (random.nextInt() & 0x8d5);
                String difference = pair.run(program, state(gpr, eflags), data);
                if (difference != null) {
                    throw new AssertionError("program " + i + " " + hex(program) + "\nregisters " + hex(gpr)
                            + " eflags " + Integer.toHexString(eflags) + "\n" + difference);
                }
            }
            assertTrue(pair.translator.blocksCompiled > SEQUENCES / 2, pair.translator.blocksCompiled + " compiled");
        }
    }

    private static String hex(int[] values) {
        StringBuilder b = new StringBuilder();
        for (int v : values) {
            b.append(values.length > 8 ? String.format("%02x", v & 0xff) : Integer.toHexString(v) + " ");
        }
        return b.toString();
    }

    // ---- edge cases, each on its own ----

    /** Runs a program on both CPUs from the given registers and flags; they must agree; returns the translator's end. */
    private static CpuState agree(int[] program, int eax, int ecx, int edx, int eflags) {
        return agree(program, eax, ecx, edx, eflags, ExitReason.VECTOR, TestMachine.HOST_EXIT);
    }

    private static CpuState agree(int[] program, int eax, int ecx, int edx, int eflags, ExitReason reason,
            int vector) {
        try (TranslatorPair pair = new TranslatorPair()) {
            int[] gpr = {eax, ecx, edx, DATA, KERNEL_STACK - 0x100, KERNEL_STACK - 0x80, DATA, DATA + 0x800};
            String difference = pair.run(program, state(gpr, eflags), new byte[16]);
            assertEquals(null, difference, hex(program));
            assertTrue(pair.translator.blocksCompiled > 0, "compiled");
            assertEquals(reason, pair.lastExit.reason());
            assertEquals(vector, pair.lastExit.vector());
            return pair.translator.saveState();
        }
    }

    private static final int STATUS = Alu.STATUS;

    @Test
    void aShiftByZeroKeepsEveryFlagEvenPendingOnes() {
        for (int op : new int[] {0xe0, 0xe8, 0xf8, 0xc0, 0xd0}) { // shl, shr, sar, rol, rcl eax, cl
            // cmp eax, 1 leaves the flags pending; shift by cl = 0 (or by 32, masked to 0).
            for (int count : new int[] {0, 32, 64}) {
                CpuState end = agree(concat(new int[] {0x83, 0xf8, 0x01, 0xd3, op, 0x9c, 0xcd, 0x1f}),
                        0, count, 0, 0x202);
                // 0 - 1: CF, SF, AF and PF set, ZF and OF clear: unchanged by the shift.
                assertEquals(X86.CF | X86.SF | X86.AF | X86.PF, end.eflags & STATUS, "count " + count);
            }
        }
    }

    @Test
    void shiftsByOneSetOverflowAndLargeCountsFollowTheInterpreter() {
        CpuState shl = agree(new int[] {0xd1, 0xe0, 0xcd, 0x1f}, 0x40000000, 0, 0, 0x202); // shl eax, 1
        assertEquals(X86.OF | X86.SF | X86.PF, shl.eflags & (STATUS & ~X86.AF));
        CpuState sar = agree(new int[] {0xd0, 0xf8, 0xcd, 0x1f}, 0x81, 0, 0, 0x202); // sar al, 1
        assertEquals(0xc0, sar.gpr[X86.EAX] & 0xff);
        assertEquals(X86.CF, sar.eflags & (X86.CF | X86.OF));
        for (int count = 1; count < 40; count++) {
            for (int op : new int[] {0xe0, 0xe8, 0xf8, 0xc0, 0xc8, 0xd0, 0xd8}) {
                agree(new int[] {0xd2, op, 0x9c, 0xcd, 0x1f}, 0x8d, count, 0, 0x202 | X86.CF); // byte
                agree(new int[] {0x66, 0xd3, op, 0x9c, 0xcd, 0x1f}, 0x8d01, count, 0, 0x203); // word
                agree(new int[] {0xc1, op, count, 0x9c, 0xcd, 0x1f}, 0x80000001, 0, 0, 0x202); // dword, imm
            }
        }
    }

    @Test
    void byteRotatesThroughTheCarryGoRoundNineBits() {
        // rcl al, 9 with CF set: a full turn of 9 bits, AL and CF back where they were.
        CpuState rcl = agree(new int[] {0xc0, 0xd0, 9, 0x9c, 0xcd, 0x1f}, 0x5a, 0, 0, 0x202 | X86.CF);
        assertEquals(0x5a, rcl.gpr[X86.EAX] & 0xff);
        assertEquals(X86.CF, rcl.eflags & X86.CF);
        // rcr al, 1 with CF set: CF comes in at the top, bit 0 goes to CF.
        CpuState rcr = agree(new int[] {0xd0, 0xd8, 0x9c, 0xcd, 0x1f}, 0x01, 0, 0, 0x202 | X86.CF);
        assertEquals(0x80, rcr.gpr[X86.EAX] & 0xff);
        assertEquals(X86.CF | X86.OF, rcr.eflags & (X86.CF | X86.OF));
    }

    @Test
    void aDivisionThatOverflowsFaultsBeforeWritingAnything() {
        for (int[] div : new int[][] {{0xf7, 0xf1}, {0xf7, 0xf9}, {0xf6, 0xf1}, {0x66, 0xf7, 0xf1}}) {
            // add eax, 0 (flags pending), then div ecx with EDX:EAX far too big for ECX = 1... or 0.
            for (int divisor : new int[] {0, 1}) {
                int[] program = concat(new int[] {0x83, 0xc0, 0x00}, div, new int[] {0xcd, 0x1f});
                CpuState end = agree(program, 0x7fff1234, divisor, 0x7fffffff, 0x202, ExitReason.VECTOR, X86.DE);
                assertEquals(CODE + 3, end.eip, "the fault is at the DIV");
                assertEquals(0x7fff1234, end.gpr[X86.EAX]);
                assertEquals(0x7fffffff, end.gpr[X86.EDX]);
                assertEquals(1, end.tsc, "only the ADD retired");
            }
        }
        // A division that fits: both agree on quotient and remainder.
        CpuState fits = agree(concat(new int[] {0xf7, 0xf1, 0xcd, 0x1f}), 100, 7, 0, 0x202);
        assertEquals(14, fits.gpr[X86.EAX]);
        assertEquals(2, fits.gpr[X86.EDX]);
    }
}
