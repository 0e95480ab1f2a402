// The x87 instructions compiled (X87Forms) against the interpreter: seeded random
// blocks mixing every x87 form X87FastPathTest draws (and FCMOVcc, FWAIT) with the
// integer instructions around them in compiled code (address registers changed inside
// the block, flags set before an FCMOVcc or FCOMI and read after it, EAX used after
// FNSTSW AX), from random FPU states (X87FastPathTest's: edge-of-range numbers,
// specials, empty and full stacks, every control word, unmasked exceptions pending),
// run on an interpreter and on the translator compiling every block at its first run.
// The exit, the whole CpuState (registers, EFLAGS, EIP, the FSAVE image, CR2, the
// retired count) and all RAM must agree. Memory operands sit at a plain offset, at
// [EBX+d8] and [ESI+EDI*4], and sometimes run into a page that is not present (a
// fault halfway through a block); CR0.TS, EM, MP and NE vary, so #NM and #MF come in
// the middle of blocks too. Then one case of each fault on its own, checking what the
// exit is, so the random part is known to reach them.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_STACK;
import static dev.lguest.cpu.interpreter.TestMachine.PAGE_TABLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CompiledX87Test {
    static final int PROGRAMS = Integer.getInteger("jit.x87Programs", 6_000);
    /** The page after DATA's is not present: an operand at DATA + 0xffc runs into it. */
    static final int MISSING_PAGE = DATA + 0x1000;
    /** Where an x87 store lands in the code's own page, past the program. */
    static final int CODE_PAGE_SLOT = CODE + 0x800;

    /** The pair of machines, with the page after DATA's missing in both. */
    private static TranslatorPair pair() {
        return new TranslatorPair(m -> m.write32(PAGE_TABLE + (MISSING_PAGE >>> 12) * 4, 0));
    }

    /** Runs a program on both from these registers, flags, CR0 and FPU image. */
    private static String run(TranslatorPair pair, int[] program, int[] gpr, int eflags, int cr0, byte[] fpu,
            byte[] data) {
        return pair.run(program, s -> {
            System.arraycopy(gpr, 0, s.gpr, 0, 8);
            System.arraycopy(fpu, 0, s.fpu, 0, fpu.length);
            s.eflags = eflags;
            s.cr0 = cr0;
        }, data);
    }

    // ---- the random programs ----

    /** An x87 form with its operand: a plain offset, [EBX+d8], [ESI+EDI*4], the code's page or the page's end. */
    private static void x87(Random random, List<Integer> out) {
        int[] form;
        if (random.nextInt(12) == 0) {
            form = new int[] {0xda + random.nextInt(2), 0xc0 + random.nextInt(32)}; // FCMOVcc
        } else {
            form = X87FastPathTest.FORMS[random.nextInt(X87FastPathTest.FORMS.length)];
        }
        out.add(form[0]);
        if ((form[1] & 0xc0) == 0xc0) {
            out.add(form[1]);
            return;
        }
        int reg = form[1] & 0x38;
        switch (random.nextInt(8)) {
            case 0, 1 -> {
                out.add(0x43 | reg);
                out.add(random.nextInt(8) * 8);
            }
            case 2, 3 -> {
                out.add(0x04 | reg);
                out.add(0x80 | X86.EDI << 3 | X86.ESI);
            }
            case 4 -> address32(out, 0x05 | reg, MISSING_PAGE - 4 * (1 + random.nextInt(4)));
            case 5 -> address32(out, 0x05 | reg, CODE_PAGE_SLOT);
            default -> address32(out, 0x05 | reg, DATA + 8 * random.nextInt(16));
        }
    }

    private static void address32(List<Integer> out, int modrm, int address) {
        out.add(modrm);
        for (int i = 0; i < 4; i++) {
            out.add((address >>> (8 * i)) & 0xff);
        }
    }

    /** The integer instructions around the x87 ones in compiled code. */
    private static void integer(Random random, List<Integer> out) {
        switch (random.nextInt(10)) {
            case 0 -> { // cmp eax, imm32: lazy flags before an FCMOVcc or FCOMI
                out.add(0x3d);
                int value = random.nextInt();
                for (int i = 0; i < 4; i++) {
                    out.add((value >>> (8 * i)) & 0xff);
                }
            }
            case 1 -> out.addAll(List.of(0x01, 0xc1)); // add ecx, eax
            case 2 -> out.addAll(List.of(0x83, 0xc3, 0x08)); // add ebx, 8: the next operand moves
            case 3 -> out.addAll(List.of(0x83, 0xeb, 0x08)); // sub ebx, 8
            case 4 -> out.addAll(List.of(0x0f, 0x90 + random.nextInt(16), 0xc1)); // setcc cl
            case 5 -> out.addAll(List.of(0x70 + random.nextInt(16), 0x00)); // jcc to the next instruction
            case 6 -> out.addAll(List.of(0x11, 0xc2)); // adc edx, eax
            case 7 -> out.add(0x9c); // pushf
            case 8 -> out.addAll(List.of(0x89, 0xc6)); // mov esi, eax: after FNSTSW AX, the status word
            default -> out.add(0x9b); // fwait
        }
    }

    private static int[] program(Random random) {
        List<Integer> out = new ArrayList<>();
        int count = 1 + random.nextInt(8);
        for (int i = 0; i < count; i++) {
            if (random.nextInt(3) == 0) {
                integer(random, out);
            } else {
                x87(random, out);
            }
        }
        out.add(0xcd);
        out.add(0x1f);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** DATA's page: x87 operands of every kind, eight bytes each. */
    private static byte[] data(Random random) {
        byte[] data = new byte[0x1000];
        for (int at = 0; at < data.length; at += 8) {
            long operand = X87FastPathTest.memoryOperand(random);
            for (int b = 0; b < 8; b++) {
                data[at + b] = (byte) (operand >>> (8 * b));
            }
        }
        return data;
    }

    private static int cr0(Random random) {
        int cr0 = X86.CR0_PE | X86.CR0_ET | X86.CR0_PG | X86.CR0_WP;
        cr0 |= random.nextInt(3) == 0 ? X86.CR0_NE : 0;
        cr0 |= random.nextInt(2) == 0 ? X86.CR0_MP : 0;
        cr0 |= random.nextInt(16) == 0 ? X86.CR0_TS : 0;
        cr0 |= random.nextInt(32) == 0 ? X86.CR0_EM : 0;
        return cr0;
    }

    private static int[] registers(Random random) {
        int[] gpr = new int[8];
        for (int r = 0; r < 8; r++) {
            gpr[r] = random.nextInt();
        }
        gpr[X86.EBX] = DATA + 8 * random.nextInt(16);
        gpr[X86.ESI] = DATA + 0x100;
        gpr[X86.EDI] = random.nextInt(64);
        gpr[X86.ESP] = KERNEL_STACK;
        return gpr;
    }

    @Test
    void randomX87BlocksAgreeWithTheInterpreter() {
        Random random = new Random(0x87c0de);
        int[] exitsByVector = new int[32];
        try (TranslatorPair pair = pair()) {
            for (int i = 0; i < PROGRAMS; i++) {
                int[] program = program(random);
                int[] gpr = registers(random);
                int eflags = 0x202 | (random.nextInt() & (X86.CF | X86.PF | X86.AF | X86.ZF | X86.SF | X86.OF));
                String differs = run(pair, program, gpr, eflags, cr0(random), X87FastPathTest.image(random),
                        data(random));
                assertNull(differs, () -> "program " + HexFormat.of().formatHex(bytes(program)) + ": " + differs);
                CpuExit exit = pair.lastExit;
                if (exit.reason() == ExitReason.VECTOR && exit.vector() < 32) {
                    exitsByVector[exit.vector()]++;
                }
            }
        }
        // The faults the programs are built to reach, and their normal end, each reached many times.
        for (int vector : new int[] {X86.NM, X86.MF, X86.PF_VECTOR, TestMachine.HOST_EXIT}) {
            assertTrue(exitsByVector[vector] > PROGRAMS / 200, "vector " + vector + " reached only "
                    + exitsByVector[vector] + " times");
        }
    }

    // ---- each fault on its own, in the middle of a compiled block ----

    /** Runs a program from FNINIT's state (control word {@code control}) on both; the translator's exit. */
    private static CpuExit runAlone(TranslatorPair pair, int[] program, int cr0, int control) {
        return runAlone(pair, program, cr0, control, new byte[0x1000]);
    }

    private static CpuExit runAlone(TranslatorPair pair, int[] program, int cr0, int control, byte[] data) {
        byte[] fpu = new byte[108];
        X87.initialize(fpu);
        X87.put16(fpu, X87.CONTROL, control);
        int[] gpr = new int[8];
        gpr[X86.EAX] = 0x1234;
        gpr[X86.ECX] = 0x10;
        gpr[X86.EBX] = DATA;
        gpr[X86.ESP] = KERNEL_STACK;
        String differs = run(pair, TestMachine.concat(program, new int[] {0xcd, 0x1f}), gpr, 0x202, cr0, fpu, data);
        assertNull(differs);
        return pair.lastExit;
    }

    private static final int CR0 = X86.CR0_PE | X86.CR0_ET | X86.CR0_PG | X86.CR0_WP | X86.CR0_NE | X86.CR0_MP;

    @Test
    void aPageFaultOnAnM64OperandStopsTheBlockAtThatInstruction() {
        try (TranslatorPair pair = pair()) {
            // add ecx, eax; fld1; fstp qword [page end - 4]; the store straddles into the missing page.
            int[] program = TestMachine.concat(new int[] {0x01, 0xc1, 0xd9, 0xe8, 0xdd, 0x1d},
                    TestMachine.imm32(MISSING_PAGE - 4));
            CpuExit exit = runAlone(pair, program, CR0, 0x037f);
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(X86.PF_VECTOR, exit.vector());
            assertEquals(2, exit.instructions());
            assertEquals(CODE + 4, pair.lastState.eip);
            assertEquals(MISSING_PAGE, pair.lastState.cr2); // the first byte of the missing page
            assertEquals(0x1244, pair.lastState.gpr[X86.ECX]);
            // FLD1 ran: TOP is 7 and ST(0) holds 1.0, not popped.
            assertEquals(7, (X87.get16(pair.lastState.fpu, X87.STATUS) >>> 11) & 7);
        }
    }

    @Test
    void anX87StoreIntoTheNextInstructionIsRunAsStored() {
        try (TranslatorPair pair = pair()) {
            // fild word [DATA] (0x4141); fistp word [CODE + 12]: the two NOPs there become INC ECX twice.
            int[] program = TestMachine.concat(new int[] {0xdf, 0x05}, TestMachine.imm32(DATA), new int[] {0xdf, 0x1d},
                    TestMachine.imm32(CODE + 12), new int[] {0x90, 0x90});
            byte[] data = new byte[0x1000];
            data[0] = 0x41;
            data[1] = 0x41;
            CpuExit exit = runAlone(pair, program, CR0, 0x037f, data);
            assertEquals(TestMachine.HOST_EXIT, exit.vector());
            assertEquals(0x12, pair.lastState.gpr[X86.ECX]);
        }
    }

    @Test
    void deviceNotAvailableStopsTheBlockAtTheFirstX87Instruction() {
        try (TranslatorPair pair = pair()) {
            int[] program = {0x01, 0xc1, 0x83, 0xc3, 0x08, 0xdc, 0x43, 0x08}; // add ecx, eax; add ebx, 8; fadd qword [ebx+8]
            CpuExit exit = runAlone(pair, program, CR0 | X86.CR0_TS, 0x037f);
            assertEquals(X86.NM, exit.vector());
            assertEquals(2, exit.instructions());
            assertEquals(CODE + 5, pair.lastState.eip);
            assertEquals(DATA + 8, pair.lastState.gpr[X86.EBX]);
        }
    }

    @Test
    void anUnmaskedExceptionIsRaisedAtTheNextX87Instruction() {
        try (TranslatorPair pair = pair()) {
            // ZE unmasked: fld1; fldz; fdivp st(1) raises ZE and sets ES; add ecx, eax; fld1 takes #MF.
            int[] program = {0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9, 0x01, 0xc1, 0xd9, 0xe8};
            CpuExit exit = runAlone(pair, program, CR0, 0x037b);
            assertEquals(X86.MF, exit.vector());
            assertEquals(4, exit.instructions());
            assertEquals(CODE + 8, pair.lastState.eip);
            assertEquals(0x1244, pair.lastState.gpr[X86.ECX]);
            assertTrue((X87.get16(pair.lastState.fpu, X87.STATUS) & X87.ES) != 0);
        }
    }

    private static byte[] bytes(int[] program) {
        byte[] b = new byte[program.length];
        for (int i = 0; i < program.length; i++) {
            b[i] = (byte) program[i];
        }
        return b;
    }
}
