// SegmentInterruptForms checked against the interpreter (TranslatorPair: the exit, the
// whole CpuState and all of RAM compared) on seeded random programs, at CPL 1 (a guest
// kernel) and CPL 3 (its user code): MOV to and from segment registers (register and
// memory operands, 16- and 32-bit, CS and the undefined ones too: #UD), PUSH and POP
// of every segment register, INT n through a gate to a ring 1 handler that saves,
// reloads and restores DS and ES and returns with IRET (from ring 3: the stack switch
// and the return to the outer level, which nulls kernel data segments), INT through a
// gate the caller may not use (#GP), and IRET from hand-built frames to random code
// selectors and stacks. Selectors come from a list with every outcome of a load: null,
// flat and based data segments, a code segment, wrong RPL or DPL, the TSS, not present
// (#NP), past the GDT limit, a descriptor without its accessed bit (the load writes
// it), and now and then the GDT's page absent (#PF with CR2 on the descriptor read).
// Two fixed programs load DS with a based segment in the middle of a block (compiled
// MOV and POP, and the interpreter's LDS) and access memory through it right after.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.GDT;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_CODE;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_STACK;
import static dev.lguest.cpu.interpreter.TestMachine.PAGE_TABLE;
import static dev.lguest.cpu.interpreter.TestMachine.USER_CODE;
import static dev.lguest.cpu.interpreter.TestMachine.USER_DATA;
import static dev.lguest.cpu.interpreter.TestMachine.USER_STACK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SegmentInterruptFormsTest {
    static final int PROGRAMS = Integer.getInteger("jit.segmentInterruptPrograms", 3_000);
    /** Where an IRET frame built by a program returns to (an exit to the host), and the INT 0x80 handler. */
    private static final int RETURN_POINT = 0x300, HANDLER = 0x400;
    private static final int SYSCALL = 0x80, FORBIDDEN = 0x81;
    /**
     * Selectors to load: null ones, the flat kernel and user data and code, ring 0
     * data, the TSS, a based data segment (0x41), not present (0x49), no accessed bit
     * (0x51), past the GDT limit (0x80), and the same with other RPLs.
     */
    private static final int[] SELECTORS = {0, 3, 0x21, 0x23, 0x20, 0x19, 0x1b, 0x33, 0x2b, 0x10, 0x11,
            0x38, 0x41, 0x43, 0x49, 0x51, 0x53, 0x80, 0x7c};

    private static TranslatorPair machines() {
        return new TranslatorPair(m -> {
            m.writeDescriptor(8, DATA + 0x100, 0xfff, 0x4093 | (3 << 5));
            m.writeDescriptor(9, 0, 0xfffff, 0xc013 | (3 << 5)); // not present
            m.writeDescriptor(10, 0, 0xfffff, 0xc092 | (3 << 5)); // accessed bit clear
            m.setGate(SYSCALL, KERNEL_CODE, CODE + HANDLER, 0xe, 3);
            m.setGate(FORBIDDEN, KERNEL_CODE, CODE + HANDLER, 0xe, 0);
        });
    }

    private static int selector(Random random) {
        return random.nextInt(8) == 0 ? random.nextInt(0x10000) : SELECTORS[random.nextInt(SELECTORS.length)];
    }

    private static void push32(List<Integer> out, int value) {
        out.add(0x68);
        ThreeCpus.imm32(out, value);
    }

    private static void instruction(Random random, List<Integer> out, boolean user) {
        boolean word = random.nextInt(3) == 0;
        switch (random.nextInt(9)) {
            case 0, 1 -> { // MOV Sreg, r/m16
                if (word) {
                    out.add(0x66);
                }
                out.add(0x8e);
                int sreg = random.nextInt(10) == 0 ? random.nextInt(8) : new int[] {0, 2, 3, 4, 5}[random.nextInt(5)];
                if (random.nextBoolean()) {
                    out.add(0xc0 | (sreg << 3) | new int[] {0, 1, 2}[random.nextInt(3)]);
                } else {
                    out.add(0x43 | (sreg << 3)); // [ebx + d8]
                    out.add(random.nextInt(0x40) & ~1);
                }
            }
            case 2 -> { // MOV r/m, Sreg
                if (word) {
                    out.add(0x66);
                }
                out.add(0x8c);
                int sreg = random.nextInt(10) == 0 ? random.nextInt(8) : random.nextInt(6);
                if (random.nextBoolean()) {
                    out.add(0xc0 | (sreg << 3) | new int[] {0, 1, 2, 6}[random.nextInt(4)]);
                } else {
                    out.add(0x43 | (sreg << 3));
                    out.add(random.nextInt(0x40));
                }
            }
            case 3 -> { // PUSH Sreg
                if (word) {
                    out.add(0x66);
                }
                switch (random.nextInt(6)) {
                    case 0 -> out.add(0x06);
                    case 1 -> out.add(0x0e);
                    case 2 -> out.add(0x16);
                    case 3 -> out.add(0x1e);
                    case 4 -> out.addAll(List.of(0x0f, 0xa0));
                    default -> out.addAll(List.of(0x0f, 0xa8));
                }
            }
            case 4 -> { // POP Sreg, mostly of what a PUSH just put there
                if (random.nextBoolean()) {
                    push32(out, selector(random));
                }
                if (word) {
                    out.add(0x66);
                }
                switch (random.nextInt(5)) {
                    case 0 -> out.add(0x07);
                    case 1 -> out.add(0x17);
                    case 2 -> out.add(0x1f);
                    case 3 -> out.addAll(List.of(0x0f, 0xa1));
                    default -> out.addAll(List.of(0x0f, 0xa9));
                }
            }
            case 5 -> { // INT n: the system call gate, or one the caller may not use
                out.add(0xcd);
                out.add(random.nextInt(6) == 0 ? FORBIDDEN : SYSCALL);
            }
            case 6 -> { // IRET from a built frame
                int cs = random.nextInt(3) == 0 ? selector(random) : user ? USER_CODE : KERNEL_CODE;
                boolean outer = (cs & 3) == 3 && !user || random.nextInt(4) == 0;
                if (outer) {
                    push32(out, random.nextInt(3) == 0 ? selector(random) : USER_DATA);
                    push32(out, USER_STACK - 0x40);
                }
                push32(out, 0x202 | (random.nextInt() & 0x8d5));
                push32(out, cs);
                push32(out, CODE + RETURN_POINT);
                if (word) {
                    out.add(0x66);
                }
                out.add(0xcf);
            }
            default -> { // flags for INT to push: ADD EAX, ECX; maybe read back
                out.add(0x01);
                out.add(0xc8);
                ThreeCpus.flagReader(random, out, 3);
            }
        }
    }

    /** The INT 0x80 handler: saves DS and ES, loads them from CX, adds, restores, returns. */
    private static final int[] HANDLER_CODE = {
        0x1e, 0x06, // push ds; push es
        0x8e, 0xd9, 0x8e, 0xc1, // mov ds, cx; mov es, cx
        0x01, 0xc8, // add eax, ecx
        0x8c, 0xda, // mov edx, ds
        0x07, 0x1f, // pop es; pop ds
        0xcf, // iret
    };

    private static int[] image(List<Integer> body) {
        int[] image = new int[HANDLER + HANDLER_CODE.length];
        Arrays.fill(image, 0x90);
        for (int i = 0; i < body.size(); i++) {
            image[i] = body.get(i);
        }
        image[body.size()] = 0xcd;
        image[body.size() + 1] = TestMachine.HOST_EXIT;
        image[RETURN_POINT] = 0xcd;
        image[RETURN_POINT + 1] = TestMachine.HOST_EXIT;
        System.arraycopy(HANDLER_CODE, 0, image, HANDLER, HANDLER_CODE.length);
        return image;
    }

    @Test
    void randomSegmentAndInterruptProgramsAgreeWithTheInterpreter() {
        Random random = new Random(0x5e6_1a7eL);
        int faults = 0, userPrograms = 0;
        byte[] data = new byte[0x80];
        try (TranslatorPair pair = machines()) {
            for (int i = 0; i < PROGRAMS; i++) {
                boolean user = random.nextInt(3) == 0;
                List<Integer> body = new ArrayList<>();
                int count = 1 + random.nextInt(6);
                for (int k = 0; k < count; k++) {
                    instruction(random, body, user);
                }
                int[] program = image(body);
                for (int at = 0; at < data.length; at += 2) {
                    int s = selector(random);
                    data[at] = (byte) s;
                    data[at + 1] = (byte) (s >>> 8);
                }
                int[] gpr = new int[8];
                for (int r = 0; r < 3; r++) {
                    gpr[r] = random.nextInt() & 0xffff0000 | selector(random);
                }
                gpr[X86.EBX] = DATA;
                gpr[X86.ESI] = random.nextInt();
                gpr[X86.ESP] = user ? USER_STACK - 0x100 : KERNEL_STACK - 0x100;
                boolean gdtAbsent = random.nextInt(25) == 0;
                int eflags = 0x202 | (random.nextInt() & 0x8d5);
                String difference = pair.run(program, s -> {
                    s.gdtLimit = 16 * 8 - 1;
                    System.arraycopy(gpr, 0, s.gpr, 0, 8);
                    s.eflags = eflags;
                    if (user) {
                        s.setSegment(SegmentRegister.CS, pair.reference.segment(USER_CODE));
                        for (SegmentRegister r : new SegmentRegister[] {SegmentRegister.SS, SegmentRegister.DS,
                                SegmentRegister.ES}) {
                            s.setSegment(r, pair.reference.segment(USER_DATA));
                        }
                    }
                    if (gdtAbsent) {
                        // Every descriptor read walks to a not-present page: #PF, CR2 in the GDT.
                        // (Both machines: each has its tables restored just before this.)
                        pair.reference.write32(PAGE_TABLE + (GDT >>> 12) * 4, 0);
                        pair.translated.write32(PAGE_TABLE + (GDT >>> 12) * 4, 0);
                    }
                }, data);
                if (difference != null) {
                    throw new AssertionError("program " + i + (user ? " (user) " : " ") + ThreeCpus.hex(program)
                            .substring(0, 2 * body.size()) + "\nregisters " + ThreeCpus.hex(gpr) + " eflags "
                            + Integer.toHexString(eflags) + " GDT absent " + gdtAbsent + "\n" + difference);
                }
                userPrograms += user ? 1 : 0;
                faults += pair.lastExit.reason() == ExitReason.VECTOR
                        && pair.lastExit.vector() != TestMachine.HOST_EXIT ? 1 : 0;
            }
            assertTrue(pair.translator.blocksCompiled > PROGRAMS / 2, pair.translator.blocksCompiled + " compiled");
            assertTrue(faults > PROGRAMS / 10, faults + " faults");
            assertTrue(faults < PROGRAMS * 9 / 10, faults + " faults");
            assertTrue(userPrograms > PROGRAMS / 5, userPrograms + " in user mode");
        }
    }

    /**
     * A block reads the flat segments once (its ACCESS local) and again after a segment
     * load: in one block, DS goes from flat to a based segment (base DATA + 0x100) and
     * back, with byte, word and doubleword stores and reads through it each time, and a
     * POP DS does the same. Read from before the load, the based accesses would take
     * the flat fast path and land 0x100 bytes off the interpreter's.
     */
    @Test
    void accessesAfterASegmentLoadInTheSameBlockUseTheNewSegment() {
        int based = 0x43;
        int[] program = {
            0x8c, 0xda, // mov edx, ds (flat)
            0x8e, 0xd9, // mov ds, cx (based)
            0x89, 0x33, // mov [ebx], esi
            0x88, 0x73, 0x05, // mov [ebx+5], dh
            0x66, 0x89, 0x73, 0x06, // mov [ebx+6], si
            0x8b, 0x43, 0x04, // mov eax, [ebx+4]
            0x0f, 0xb6, 0x7b, 0x01, // movzx edi, byte [ebx+1]
            0x8e, 0xda, // mov ds, dx (flat again)
            0x8b, 0xab, 0x00, 0x01, 0x02, 0x00, // mov ebp, [ebx+DATA+0x100]
            0x89, 0x73, 0x08, // mov [ebx+8], esi (flat: linear 0x28 + ...)
            0x51, 0x1f, // push ecx; pop ds (based)
            0x03, 0x43, 0x00, // add eax, [ebx]
            0x89, 0x43, 0x0c, // mov [ebx+12], eax
            0x1e, 0x52, 0x1f, // push ds; push edx; pop ds (flat)
            0x8b, 0x8b, 0x0c, 0x01, 0x02, 0x00, // mov ecx, [ebx+DATA+0x10c]
            0x07, // pop es (based)
            0x26, 0x8b, 0x53, 0x04, // mov edx, es:[ebx+4]
        };
        try (TranslatorPair pair = machines()) {
            String difference = pair.run(image(toList(program)), s -> {
                s.gdtLimit = 16 * 8 - 1;
                s.gpr[X86.ECX] = based;
                s.gpr[X86.EBX] = 0x20;
                s.gpr[X86.ESI] = 0x5a6b7c8d;
                s.gpr[X86.ESP] = KERNEL_STACK - 0x100;
            }, new byte[0x80]);
            assertEquals(null, difference);
            assertEquals(ExitReason.VECTOR, pair.lastExit.reason());
            assertEquals(TestMachine.HOST_EXIT, pair.lastExit.vector());
            // The stores through the based DS landed at DATA + 0x120: read back flat.
            assertEquals(0x5a6b7c8d, pair.lastState.gpr[X86.EBP]);
            assertTrue(pair.translator.blocksCompiled > 0);
        }
    }

    /**
     * The same after an instruction the interpreter runs for the block (LDS, which no
     * form compiles): the block reads the flat segments again after it. A flat store
     * first puts page 0 in the TLB, where a based access at offset 0x20 read as flat
     * would land.
     */
    @Test
    void accessesAfterAnInterpretedSegmentLoadUseTheNewSegment() {
        int[] program = {
            0xa3, 0x30, 0x00, 0x00, 0x00, // mov [0x30], eax (flat: page 0 in the TLB for writing)
            0xc5, 0x33, // lds esi, [ebx] (DS based, ESI 0x20)
            0x89, 0x0e, // mov [esi], ecx
            0x88, 0x4e, 0x04, // mov [esi+4], cl
            0x26, 0x8b, 0xab, 0x20, 0x01, 0x00, 0x00, // mov ebp, es:[ebx+0x120] (flat: DATA + 0x120)
        };
        try (TestMachine m = new TestMachine()) {
            m.program(0xc5, 0x33);
            assertTrue(!BlockTranslator.compiles(m.cpu.decode()), "LDS is compiled now: pick another");
        }
        byte[] data = new byte[0x80];
        data[0] = 0x20;
        data[4] = 0x43;
        try (TranslatorPair pair = machines()) {
            String difference = pair.run(image(toList(program)), s -> {
                s.gdtLimit = 16 * 8 - 1;
                s.gpr[X86.ECX] = 0x11223344;
                s.gpr[X86.EBX] = TestMachine.DATA;
            }, data);
            assertEquals(null, difference);
            assertEquals(TestMachine.HOST_EXIT, pair.lastExit.vector());
            assertEquals(0x11223344, pair.lastState.gpr[X86.EBP]);
        }
    }

    private static List<Integer> toList(int[] bytes) {
        List<Integer> out = new ArrayList<>();
        for (int b : bytes) {
            out.add(b);
        }
        return out;
    }

    /** Nothing of the forms is left to the interpreter: each compiles (a form exists for it). */
    @Test
    void theSystemCallPathsInstructionsAreCompiled() {
        int[][] encodings = {{0xcd, 0x80}, {0xcf}, {0x8e, 0xd9}, {0x8e, 0x43, 0x04}, {0x8c, 0xd8}, {0x66, 0x8c, 0x03},
            {0x1e}, {0x06}, {0x0f, 0xa0}, {0x0f, 0xa8}, {0x1f}, {0x07}, {0x17}, {0x0f, 0xa1}, {0x0f, 0xa9}};
        try (TestMachine m = new TestMachine()) {
            for (int[] bytes : encodings) {
                m.program(bytes);
                Instruction in = m.cpu.decode();
                assertTrue(BlockTranslator.compiles(in), ThreeCpus.hex(bytes) + " not compiled");
            }
            m.program(0x8e, 0xc8); // MOV CS, AX: #UD, the interpreter's
            assertTrue(!BlockTranslator.compiles(m.cpu.decode()));
        }
    }
}
