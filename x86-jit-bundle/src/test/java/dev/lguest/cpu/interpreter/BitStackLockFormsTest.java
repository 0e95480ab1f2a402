// BitOffsetForms, StackForms and LOCKed read-modify-writes, checked against the
// interpreter on seeded random programs (ThreeCpus: the whole state and RAM compared):
// BT/BTS/BTR/BTC on memory with register offsets that reach words far below and above
// the address (at 16 and 32 bits, sometimes into an absent or read-only page: #PF with
// CR2 at the word the offset named), POP r/m into registers (ESP too) and into memory
// addressed through ESP (computed after the pop), 16-bit PUSH and POP of every
// register, and LOCK on every lockable ALU, unary, exchange and bit form, plus LOCK
// where it raises #UD.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_STACK;
import static dev.lguest.cpu.interpreter.ThreeCpus.AREA;
import static dev.lguest.cpu.interpreter.ThreeCpus.AREA_SIZE;
import static dev.lguest.cpu.interpreter.ThreeCpus.flagReader;
import static dev.lguest.cpu.interpreter.ThreeCpus.hex;
import static dev.lguest.cpu.interpreter.ThreeCpus.imm32;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BitStackLockFormsTest {
    static final int PROGRAMS = Integer.getInteger("jit.bitStackLockPrograms", 4_000);

    /** A memory operand with reg field {@code reg}: [EBX], [EBX+d8], [ESP+d8] or [EBX+ESI*4+d8]. */
    private static void memory(Random random, List<Integer> out, int reg) {
        switch (random.nextInt(4)) {
            case 0 -> out.add(0x03 | (reg << 3));
            case 1 -> {
                out.add(0x43 | (reg << 3));
                out.add(random.nextInt(256));
            }
            case 2 -> {
                out.add(0x44 | (reg << 3)); // [esp + d8]
                out.add(0x24);
                out.add(random.nextInt(0x40) & ~3);
            }
            default -> {
                out.add(0x44 | (reg << 3)); // [ebx + esi*4 + d8]
                out.add(0xb3);
                out.add(random.nextInt(256));
            }
        }
    }

    private static void instruction(Random random, List<Integer> out) {
        boolean word = random.nextInt(3) == 0;
        switch (random.nextInt(6)) {
            case 0, 1 -> { // BT* m, r
                if (random.nextInt(4) == 0) {
                    out.add(0xf0);
                }
                if (word) {
                    out.add(0x66);
                }
                out.add(0x0f);
                out.add(new int[] {0xa3, 0xab, 0xb3, 0xbb}[random.nextInt(4)]);
                memory(random, out, random.nextInt(3)); // eax, ecx, edx: the offsets
            }
            case 2 -> { // POP r/m
                if (word) {
                    out.add(0x66);
                }
                out.add(0x8f);
                if (random.nextBoolean()) {
                    out.add(0xc0 | random.nextInt(8));
                } else {
                    memory(random, out, 0);
                }
            }
            case 3 -> { // 16-bit PUSH or POP of a register
                out.add(0x66);
                out.add((random.nextBoolean() ? 0x50 : 0x58) + random.nextInt(8));
            }
            default -> { // LOCK
                out.add(0xf0);
                if (word) {
                    out.add(0x66);
                }
                switch (random.nextInt(8)) {
                    case 0 -> { // ALU m, r (and CMP, which LOCK does not allow)
                        out.add(8 * random.nextInt(8) + random.nextInt(2));
                        memory(random, out, random.nextInt(8));
                    }
                    case 1 -> { // ALU m, imm
                        int op = new int[] {0x80, 0x81, 0x83}[random.nextInt(3)];
                        out.add(op);
                        memory(random, out, random.nextInt(8));
                        int size = op == 0x81 ? (word ? 2 : 4) : 1;
                        int value = random.nextInt();
                        for (int i = 0; i < size; i++) {
                            out.add((value >>> (8 * i)) & 0xff);
                        }
                    }
                    case 2 -> { // NOT, NEG
                        out.add(0xf6 + random.nextInt(2));
                        memory(random, out, 2 + random.nextInt(2));
                    }
                    case 3 -> { // INC, DEC
                        out.add(0xfe + random.nextInt(2));
                        memory(random, out, random.nextInt(2));
                    }
                    case 4 -> { // XCHG
                        out.add(0x86 + random.nextInt(2));
                        memory(random, out, random.nextInt(8));
                    }
                    case 5 -> { // XADD, CMPXCHG
                        out.add(0x0f);
                        out.add(new int[] {0xc0, 0xc1, 0xb0, 0xb1}[random.nextInt(4)]);
                        memory(random, out, random.nextInt(8));
                    }
                    case 6 -> { // BTS/BTR/BTC m, imm8
                        out.add(0x0f);
                        out.add(0xba);
                        memory(random, out, 4 + random.nextInt(4));
                        out.add(random.nextInt(256));
                    }
                    default -> { // ALU r, r: LOCK raises #UD
                        out.add(0x01);
                        out.add(0xc0 | random.nextInt(64));
                    }
                }
            }
        }
        flagReader(random, out, 5);
    }

    /** Register values: bit offsets near zero, of either sign, or reaching tens of KiB away. */
    private static int offset(Random random) {
        return switch (random.nextInt(4)) {
            case 0 -> random.nextInt(64) - 32;
            case 1 -> random.nextInt(1 << 16) - (1 << 15);
            case 2 -> random.nextInt(1 << 19) - (1 << 18);
            default -> random.nextInt();
        };
    }

    @Test
    void randomBitStackAndLockProgramsAgreeWithTheInterpreter() {
        Random random = new Random(0xb175_7acbL);
        byte[] area = new byte[AREA_SIZE];
        int[] gpr = new int[8];
        int faults = 0;
        try (ThreeCpus machines = new ThreeCpus()) {
            for (int i = 0; i < PROGRAMS; i++) {
                List<Integer> out = new ArrayList<>();
                int count = 1 + random.nextInt(6);
                for (int k = 0; k < count; k++) {
                    instruction(random, out);
                }
                out.add(0xcd);
                out.add(0x1f);
                int[] program = out.stream().mapToInt(Integer::intValue).toArray();
                random.nextBytes(area);
                for (int r = 0; r < 8; r++) {
                    gpr[r] = offset(random);
                }
                gpr[X86.EBX] = AREA + AREA_SIZE / 2 + random.nextInt(0x2000) - 0x1000;
                gpr[X86.ESI] = random.nextInt(0x100) - 0x80;
                gpr[X86.ESP] = random.nextInt(4) == 0 ? AREA + 0x1000 * (1 + random.nextInt(30)) + random.nextInt(8)
                        : KERNEL_STACK - 0x100;
                int[] pages = new int[0];
                if (random.nextBoolean()) {
                    int page = AREA + 0x1000 + random.nextInt(AREA_SIZE / 0x1000 - 2) * 0x1000;
                    pages = new int[] {page, random.nextBoolean() ? 0 : page | 5};
                }
                int eflags = 0x202 | (random.nextInt() & 0x8d5);
                String difference = machines.run(program, gpr, eflags, area, pages, 400);
                if (difference != null) {
                    throw new AssertionError("program " + i + " " + hex(program) + "\nregisters " + hex(gpr)
                            + " eflags " + Integer.toHexString(eflags) + " pages " + hex(pages) + "\n" + difference);
                }
                faults += machines.lastExit.reason() == ExitReason.VECTOR
                        && machines.lastExit.vector() != TestMachine.HOST_EXIT ? 1 : 0;
            }
            assertTrue(machines.translator.blocksCompiled > PROGRAMS / 2,
                    machines.translator.blocksCompiled + " compiled");
            assertTrue(faults > PROGRAMS / 20, faults + " faults");
        }
    }
}
