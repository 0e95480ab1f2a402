// The x87's fast forms (X87FastForms) against the general code they stand in for, one
// whole instruction at a time: from the same random FPU state, registers and memory
// operand, each x87 instruction a compiler emits runs once with the fast forms and once
// without, and everything must come out the same to the bit: the FSAVE image (values,
// status word with C0-C3, the flags, ES and TOP, the tag word, the FPU pointers), the
// memory operand, EAX, EFLAGS, EIP and how the run ended (#MF, #NM, page faults). A
// case is one to four instructions in one run, so instructions after the first start
// from what the fast forms left (their tag word kept register by register).
// The states are built to reach the fast forms' edges: normal numbers near the ends of
// the exponent range and with carries and ties in their significands, zeros, denormals,
// pseudo-denormals, infinities, NaNs and unsupported formats beside them, empty and full
// stacks, tags that disagree with the contents, every rounding and precision control
// and unmasked exceptions. -Dx87.fastCases=N runs more than the default.
package dev.lguest.cpu.interpreter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.X86;
import java.lang.reflect.Field;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class X87FastPathTest {
    private static final int CASES = Integer.getInteger("x87.fastCases", 60_000);
    private static final int DATA = TestMachine.DATA;

    /** The instructions: opcode and ModRM (a memory form addresses [DATA] by disp32). */
    static final int[][] FORMS;

    static {
        java.util.List<int[]> forms = new java.util.ArrayList<>();
        for (int opcode = 0xd8; opcode <= 0xdf; opcode++) {
            for (int reg = 0; reg < 8; reg++) {
                forms.add(new int[] {opcode, 0x05 | reg << 3}); // every memory form of the opcode
            }
        }
        // The register forms, the arithmetic and compares with every ST(i).
        for (int modrm = 0xc0; modrm <= 0xff; modrm++) {
            forms.add(new int[] {0xd8, modrm});
            forms.add(new int[] {0xdc, modrm});
            forms.add(new int[] {0xde, modrm});
        }
        for (int i = 0; i < 8; i++) {
            forms.add(new int[] {0xd9, 0xc0 + i}); // FLD ST(i)
            forms.add(new int[] {0xd9, 0xc8 + i}); // FXCH
            forms.add(new int[] {0xdd, 0xd0 + i}); // FST
            forms.add(new int[] {0xdd, 0xd8 + i}); // FSTP
            forms.add(new int[] {0xdd, 0xe0 + i}); // FUCOM
            forms.add(new int[] {0xdd, 0xe8 + i}); // FUCOMP
            forms.add(new int[] {0xdb, 0xe8 + i}); // FUCOMI
            forms.add(new int[] {0xdb, 0xf0 + i}); // FCOMI
            forms.add(new int[] {0xdf, 0xe8 + i}); // FUCOMIP
            forms.add(new int[] {0xdf, 0xf0 + i}); // FCOMIP
            forms.add(new int[] {0xd9, 0xe8 + i}); // FLD1 .. FLDZ, and the undefined D9 EF
        }
        for (int modrm : new int[] {0xe0, 0xe1, 0xe4, 0xe5, 0xfa, 0xfc}) {
            forms.add(new int[] {0xd9, modrm}); // FCHS FABS FTST FXAM FSQRT FRNDINT
        }
        forms.add(new int[] {0xdf, 0xe0}); // FNSTSW AX
        forms.add(new int[] {0xda, 0xe9}); // FUCOMPP
        FORMS = forms.toArray(new int[0][]);
    }

    private static X87 x87(InterpreterCpu cpu) throws ReflectiveOperationException {
        Field field = Executor.class.getDeclaredField("x87");
        field.setAccessible(true);
        return (X87) field.get(cpu.executor);
    }

    // ---- random operands ----

    private static long significand(Random random) {
        return switch (random.nextInt(6)) {
            case 0 -> Long.MIN_VALUE;
            case 1 -> -1L;
            case 2 -> -1L << random.nextInt(64); // few bits: a double's, a single's, an integer's
            case 3 -> Long.MIN_VALUE | random.nextLong() & (-1L << 11); // a double's 53 bits
            case 4 -> Long.MIN_VALUE | (1L << random.nextInt(63)) | (random.nextBoolean() ? 1 : 0);
            default -> random.nextLong() | Long.MIN_VALUE;
        };
    }

    private static int normalExponent(Random random) {
        return switch (random.nextInt(5)) {
            case 0 -> 1 + random.nextInt(70);
            case 1 -> 0x7ffe - random.nextInt(70);
            case 2 -> 0x3fff - 1100 + random.nextInt(2200); // a double's range and its edges
            default -> 0x3fff - 70 + random.nextInt(140);
        };
    }

    /** Sign and exponent word and significand, mostly normal numbers. */
    private static long[] value(Random random) {
        int sign = random.nextBoolean() ? 0x8000 : 0;
        int kind = random.nextInt(20);
        long m;
        int e;
        switch (kind) {
            case 0, 1 -> {
                e = 0;
                m = 0;
            }
            case 2 -> {
                e = 0; // a denormal or a pseudo-denormal
                m = random.nextLong() >>> random.nextInt(64);
            }
            case 3 -> {
                e = 0x7fff;
                m = random.nextBoolean() ? Long.MIN_VALUE : Long.MIN_VALUE | random.nextLong(); // infinity or NaN
            }
            case 4 -> {
                e = random.nextInt(0x8000); // unnormals, pseudo-NaNs and pseudo-infinities
                m = random.nextLong() & Long.MAX_VALUE;
            }
            default -> {
                e = normalExponent(random);
                m = significand(random);
            }
        }
        return new long[] {sign | e, m};
    }

    /** Memory operand bytes: singles, doubles and integers of every class, or random bits. */
    static long memoryOperand(Random random) {
        return switch (random.nextInt(8)) {
            case 0 -> random.nextLong();
            case 1 -> random.nextLong() & 0x800f_ffff_ffff_ffffL; // double denormals and zeros
            case 2 -> random.nextLong() | 0x7ff0_0000_0000_0000L; // double infinities and NaNs
            case 3 -> Double.doubleToRawLongBits(random.nextInt(2001) - 1000); // small integers, exactly
            case 4 -> random.nextInt() & 0x807f_ffffL | random.nextLong() << 32; // single denormals
            case 5 -> Float.floatToRawIntBits((float) random.nextGaussian()) & 0xffff_ffffL;
            case 6 -> random.nextInt(65536) - 32768 & 0xffff_ffffL | random.nextLong() << 32;
            default -> Double.doubleToRawLongBits(random.nextGaussian() * Math.pow(2, random.nextInt(2100) - 1050));
        };
    }

    // ---- the machine state ----

    /** A random FSAVE image: control, status, tags, registers. */
    static byte[] image(Random random) {
        byte[] image = new byte[108];
        X87.initialize(image);
        // Mostly masked; PC and RC anything; the reserved bit 6 reads as one.
        int masks = random.nextInt(4) == 0 ? random.nextInt(64) : 0x3f;
        int control = masks | 0x40 | random.nextInt(4) << 8 | random.nextInt(4) << 10 | random.nextInt(8) << 13;
        X87.put16(image, X87.CONTROL, control & 0xff7f);
        int top = random.nextInt(8);
        int flags = random.nextInt(3) == 0 ? random.nextInt(128) : 0;
        int status = top << 11 | flags | (random.nextInt(16) & 0xd) << 8 | (random.nextBoolean() ? X87.C3 : 0);
        // ES and B as summarised from the flags and masks, or (rarely) inconsistent.
        if ((flags & 0x3f & ~control) != 0 || random.nextInt(50) == 0) {
            status |= X87.ES | X87.B;
        }
        X87.put16(image, X87.STATUS, status);
        int emptyCount = switch (random.nextInt(4)) {
            case 0 -> 0;
            case 1 -> 1;
            case 2 -> 8;
            default -> random.nextInt(9);
        };
        boolean[] empty = new boolean[8];
        for (int k = 0; k < emptyCount; k++) {
            empty[random.nextInt(8)] = true;
        }
        int tag = 0;
        for (int i = 0; i < 8; i++) {
            long[] v = value(random);
            X87.put16(image, X87.REGISTERS + 10 * i + 8, (int) v[0]);
            for (int b = 0; b < 8; b++) {
                image[X87.REGISTERS + 10 * i + b] = (byte) (v[1] >>> (8 * b));
            }
            int physical = (top + i) & 7;
            // Tags as the contents say, or (sometimes) stale ones loaded from outside.
            int t = empty[i] ? 3 : random.nextInt(10) == 0 ? random.nextInt(3) : X87.tagOf((int) v[0], v[1]);
            tag |= t << (2 * physical);
        }
        X87.put16(image, X87.TAG, tag);
        return image;
    }

    /** The outcome of one run: everything an x87 instruction may change. */
    private record Outcome(String exit, int eip, int eax, int eflags, byte[] image, byte[] memory) {
        String describe() {
            HexFormat hex = HexFormat.of();
            return exit + " eip=" + Integer.toHexString(eip) + " eax=" + Integer.toHexString(eax) + " eflags="
                    + Integer.toHexString(eflags) + " image=" + hex.formatHex(image) + " memory="
                    + hex.formatHex(memory);
        }
    }

    private static Outcome run(TestMachine m, X87 x87, boolean fast, int[] code, int count, byte[] image,
            long operand, int eax, int eflags, boolean numericErrors) {
        x87.fastForms = fast;
        m.load(TestMachine.CODE, code);
        m.load(TestMachine.CODE + code.length, 0xf4, 0xf4, 0xf4); // HLT after it
        for (int b = 0; b < 16; b++) {
            m.load(DATA + b, b < 8 ? (int) (operand >>> (8 * b)) & 0xff : 0x5a);
        }
        InterpreterCpu cpu = m.cpu;
        System.arraycopy(image, 0, cpu.fpu, 0, image.length);
        x87.imageLoaded();
        cpu.gpr[X86.EAX] = eax;
        cpu.eflags = eflags;
        cpu.cr0 = numericErrors ? cpu.cr0 | X86.CR0_NE : cpu.cr0 & ~X86.CR0_NE;
        cpu.setEip(TestMachine.CODE);
        CpuExit exit = cpu.run(count);
        x87.storeImage();
        byte[] memory = new byte[16];
        m.ram.asSlice(DATA, 16).asByteBuffer().get(memory);
        return new Outcome(exit.reason() + "/" + exit.vector(), cpu.eip, cpu.gpr[X86.EAX], cpu.eflags,
                cpu.fpu.clone(), memory);
    }

    @Test
    void fastFormsLeaveExactlyWhatTheGeneralCodeLeaves() throws ReflectiveOperationException {
        Random random = new Random(87);
        int fastTaken = 0;
        try (TestMachine m = new TestMachine()) {
            X87 x87 = x87(m.cpu);
            for (int n = 0; n < CASES; n++) {
                // One to four instructions in one run: the first after a state loaded from
                // outside, the others after x87 instructions (the fast forms keep the tags).
                int count = 1 + random.nextInt(4);
                int[] code = new int[0];
                for (int k = 0; k < count; k++) {
                    int[] form = FORMS[random.nextInt(FORMS.length)];
                    code = TestMachine.concat(code, (form[1] & 0xc0) == 0xc0 ? form
                            : TestMachine.concat(form, TestMachine.imm32(DATA)));
                }
                byte[] image = image(random);
                long operand = memoryOperand(random);
                int eax = random.nextInt();
                int eflags = 0x202 | (random.nextInt() & (X86.CF | X86.PF | X86.AF | X86.ZF | X86.SF | X86.OF));
                boolean numericErrors = random.nextInt(4) == 0;
                Outcome general = run(m, x87, false, code, count, image, operand, eax, eflags, numericErrors);
                Outcome fast = run(m, x87, true, code, count, image, operand, eax, eflags, numericErrors);
                String what = "case " + n + ": " + HexFormat.of().formatHex(toBytes(code)) + " from image "
                        + HexFormat.of().formatHex(image) + " operand " + Long.toHexString(operand);
                assertEquals(general.describe(), fast.describe(), what);
                if (!Arrays.equals(image, general.image())) {
                    fastTaken++;
                }
            }
        }
        // Most cases must change the state, or this test compares nothing.
        assertTrue(fastTaken > CASES / 2, "the state changed in only " + fastTaken + " cases");
    }

    private static byte[] toBytes(int[] code) {
        byte[] b = new byte[code.length];
        for (int i = 0; i < code.length; i++) {
            b[i] = (byte) code[i];
        }
        return b;
    }
}
