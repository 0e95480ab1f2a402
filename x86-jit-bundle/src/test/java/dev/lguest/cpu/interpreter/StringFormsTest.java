// The string instructions (MOVS, STOS, LODS, SCAS, CMPS at every size, with and
// without REP/REPE/REPNE), the bulk path of REP MOVS/STOS (StringOps) and the other
// forms of StringForms (MOV moffs, hint NOPs, CLD/STD, strings without REP), checked against the element-wise interpreter: seeded random
// programs run on three machines from the same state, an interpreter with the bulk path
// off (the reference), an interpreter with it on, and the translator compiling every
// block at its first run; the exit, the whole CpuState and all of RAM must agree. The
// programs aim at what makes strings hard: both directions, operands overlapping by a
// few bytes (MOVS replicating a pattern), elements crossing a page, counts past the
// interpreter's slice of 4,096 iterations (the instruction ends with EIP on itself and
// RF set), a page made absent or read-only in the string's way (a page fault in the
// middle, with CR2 and ECX/ESI/EDI of the iterations done), a store into the page of
// the running code, segment overrides (a based FS, an FS without a base), 16-bit
// addresses (prefix 67) and budgets that stop the run between slices.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.ThreeCpus.AREA;
import static dev.lguest.cpu.interpreter.ThreeCpus.AREA_SIZE;
import static dev.lguest.cpu.interpreter.ThreeCpus.LOW;
import static dev.lguest.cpu.interpreter.ThreeCpus.flagReader;
import static dev.lguest.cpu.interpreter.ThreeCpus.hex;
import static dev.lguest.cpu.interpreter.ThreeCpus.imm32;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_STACK;
import static dev.lguest.cpu.interpreter.TestMachine.PAGE_TABLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StringFormsTest {
    static final int PROGRAMS = Integer.getInteger("jit.stringPrograms", 4_000);

    // ---- the random programs ----


    /** An address for a string operand: anywhere in the area, at a page's edge, or beside the other operand. */
    private static int address(Random random, int other, boolean sixteen) {
        int base = sixteen ? LOW : AREA + 0x100;
        int span = sixteen ? 0x6000 : AREA_SIZE - 0x200;
        return switch (random.nextInt(5)) {
            case 0 -> sixteen ? base + random.nextInt(span) : other + random.nextInt(33) - 16;
            case 1 -> base + (random.nextInt(span >>> 12) + 1) * 0x1000 - random.nextInt(9);
            case 2 -> sixteen ? base + random.nextInt(span) : CODE + 0x800 + random.nextInt(0x400); // the code's page
            default -> base + random.nextInt(span);
        };
    }

    /** ECX: none, a few, hundreds, or past one slice of 4,096 iterations. */
    private static int count(Random random, boolean sixteen) {
        int count = switch (random.nextInt(6)) {
            case 0 -> 0;
            case 1, 2 -> random.nextInt(24);
            case 3 -> random.nextInt(1500);
            default -> sixteen ? random.nextInt(0x800) : 4000 + random.nextInt(5000);
        };
        return sixteen ? (random.nextInt() & 0xffff0000) | count : count;
    }

    private static void stringInstruction(Random random, List<Integer> out, int[] gpr) {
        boolean sixteen = random.nextInt(8) == 0;
        out.add(0xb9); // mov ecx
        imm32(out, count(random, sixteen));
        int esi = address(random, gpr[X86.EDI], sixteen);
        int edi = address(random, esi, sixteen);
        gpr[X86.ESI] = esi;
        gpr[X86.EDI] = edi;
        out.add(0xbe); // mov esi
        imm32(out, sixteen ? (random.nextInt() & 0xffff0000) | (esi & 0xffff) : esi);
        out.add(0xbf); // mov edi
        imm32(out, sixteen ? (random.nextInt() & 0xffff0000) | (edi & 0xffff) : edi);
        if (random.nextInt(3) == 0) {
            out.add(0xb8); // mov eax (a value SCAS may find, often)
            imm32(out, random.nextBoolean() ? random.nextInt() : random.nextInt(3) * 0x01010101);
        }
        if (random.nextInt(3) == 0) {
            out.add(random.nextInt(3) == 0 ? 0xfd : 0xfc); // std, cld
        }
        switch (random.nextInt(6)) {
            case 0 -> out.add(0x26); // es
            case 1 -> out.add(new int[] {0x2e, 0x36, 0x3e, 0x64, 0x65}[random.nextInt(5)]);
            default -> {
            }
        }
        if (sixteen) {
            out.add(0x67);
        }
        if (random.nextInt(4) == 0) {
            out.add(0x66);
        }
        int choice = random.nextInt(8);
        if (choice == 0) {
            // MOV between the accumulator and a direct address (A0-A3), maybe into the code's page.
            out.add(0xa0 + random.nextInt(4));
            int offset = random.nextInt(4) == 0 ? CODE + 0x800 + random.nextInt(0x800) : address(random, edi, false);
            if (sixteen) {
                out.add(offset & 0xff);
                out.add((offset >>> 8) & 0xff);
            } else {
                imm32(out, offset);
            }
        } else if (choice == 1) {
            out.add(0x0f); // a hint NOP, with a memory operand never accessed
            out.add(0x18 + random.nextInt(8));
            out.add(0x84);
            out.add(0x00);
            imm32(out, random.nextInt());
        } else {
            int repeat = random.nextInt(4);
            if (repeat != 0) {
                out.add(repeat == 1 ? 0xf2 : 0xf3);
            }
            out.add(new int[] {0xa4, 0xa5, 0xa4, 0xa5, 0xaa, 0xab, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xa6, 0xa7}
                    [random.nextInt(14)]);
        }
        flagReader(random, out, X86.EBX);
    }

    private static int[] program(Random random, int[] gpr) {
        List<Integer> out = new ArrayList<>();
        int count = 1 + random.nextInt(4);
        for (int i = 0; i < count; i++) {
            stringInstruction(random, out, gpr);
        }
        out.add(0xcd);
        out.add(0x1f);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Page-table entries to change: a page of the area absent or read-only, or none. */
    private static int[] pages(Random random) {
        int choice = random.nextInt(4);
        if (choice >= 2) {
            return new int[0];
        }
        int page = AREA + 0x1000 + random.nextInt(AREA_SIZE / 0x1000 - 2) * 0x1000;
        return new int[] {page, choice == 0 ? 0 : page | 5};
    }

    @Test
    void randomStringProgramsAgreeWithTheElementWiseInterpreter() {
        Random random = new Random(0x57a1_9c0dL);
        byte[] area = new byte[AREA_SIZE];
        int[] gpr = new int[8];
        int faults = 0, budgetStops = 0;
        try (ThreeCpus machines = new ThreeCpus()) {
            for (int i = 0; i < PROGRAMS; i++) {
                for (int r = 0; r < 8; r++) {
                    gpr[r] = random.nextInt();
                }
                gpr[X86.ESP] = KERNEL_STACK - 0x100;
                int[] program = program(random, gpr.clone());
                random.nextBytes(area);
                if (random.nextBoolean()) {
                    // Long runs of equal bytes, for REPE/REPNE to stop in.
                    int at = random.nextInt(AREA_SIZE - 0x1000);
                    java.util.Arrays.fill(area, at, at + random.nextInt(0x1000), (byte) random.nextInt(3));
                }
                int eflags = 0x202 | (random.nextInt() & 0xcd5);
                long budget = random.nextInt(4) == 0 ? 1 + random.nextInt(12) : 400;
                int[] pages = pages(random);
                String difference = machines.run(program, gpr, eflags, area, pages, budget);
                if (difference != null) {
                    throw new AssertionError("program " + i + " " + hex(program) + "\nregisters " + hex(gpr)
                            + " eflags " + Integer.toHexString(eflags) + " budget " + budget + " pages " + hex(pages)
                            + "\n" + difference);
                }
                faults += machines.lastExit.reason() == ExitReason.VECTOR
                        && machines.lastExit.vector() != TestMachine.HOST_EXIT ? 1 : 0;
                budgetStops += machines.lastExit.reason() == ExitReason.BUDGET ? 1 : 0;
            }
            assertTrue(machines.translator.blocksCompiled > PROGRAMS / 2, machines.translator.blocksCompiled + " compiled");
            assertTrue(machines.bulkInterpreter.executor.strings.bulkIterations > 1_000_000,
                    machines.bulkInterpreter.executor.strings.bulkIterations + " bulk iterations");
            assertTrue(faults > PROGRAMS / 20 && budgetStops > PROGRAMS / 20, faults + " faults, " + budgetStops
                    + " budget stops");
        }
    }
}
