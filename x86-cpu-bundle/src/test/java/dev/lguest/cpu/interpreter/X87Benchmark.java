// How fast the x87 computes, printed, never asserted: the Float80 operations an
// FPU-heavy guest leans on (FADD, FMUL, FDIV, FLD/FST, FIST, FRNDINT, FSQRT) on normal
// operands in nanoseconds each, the transcendental kernels (and the BigDecimal reference
// they replaced) in microseconds, and loops of x87 instructions run by the interpreter
// in guest instructions per second: a load/arithmetic/store loop next to the same loop
// in integer code, and the inner loop of guest/benchmarks/x87.c's Mandelbrot set, which
// also prints its CPU time per instruction (steadier than the wall time on a loaded
// machine). Not a test (no @Test); run it by hand with a JDK 25 java (the reactor's
// api classes first: the ~/.m2 copy may be older):
//
//   ./mvnw -q -pl x86-cpu-bundle -am test-compile
//   ./mvnw -q -pl x86-cpu-bundle dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
//   (. .mvn/jdk.sh; "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
//       -cp x86-cpu-bundle/target/classes:x86-cpu-bundle/target/test-classes:bundles/api/target/classes:$(cat /tmp/cp.txt) \
//       dev.lguest.cpu.interpreter.X87Benchmark [loop])
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import java.util.Random;
import java.util.function.IntToLongFunction;

public final class X87Benchmark {
    private static final int OPERANDS = 4096;

    private X87Benchmark() {
    }

    /** Normal extended values around 1, of both signs, with full random significands. */
    private static Float80[] operands(long seed) {
        Random random = new Random(seed);
        Float80[] values = new Float80[OPERANDS];
        for (int i = 0; i < OPERANDS; i++) {
            int exponent = 16383 - 40 + random.nextInt(80);
            values[i] = Float80.of(random.nextBoolean(), exponent, random.nextLong() | Float80.INTEGER_BIT);
        }
        return values;
    }

    /** Best of a few timed rounds, in nanoseconds per call; the sum keeps the JIT honest. */
    private static double time(String name, IntToLongFunction operation) {
        long sink = 0;
        double best = Double.MAX_VALUE;
        for (int round = 0; round < 15; round++) {
            long start = System.nanoTime();
            for (int k = 0; k < 100; k++) {
                for (int i = 0; i < OPERANDS; i++) {
                    sink += operation.applyAsLong(i);
                }
            }
            best = Math.min(best, (System.nanoTime() - start) / (100.0 * OPERANDS));
        }
        System.out.printf("  %-28s %8.1f ns   (checksum %x)%n", name, best, sink);
        return best;
    }

    /** With the argument "loop", only the Mandelbrot loop (for a profiler). */
    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("loop")) {
            for (int i = 0; i < 5; i++) {
                mandelbrotLoop();
            }
            return;
        }
        Float80[] a = operands(1), b = operands(2);
        long[] doubles = new long[OPERANDS];
        for (int i = 0; i < OPERANDS; i++) {
            doubles[i] = Double.doubleToRawLongBits((a[i].negative() ? -1 : 1) * (1 + (a[i].m() >>> 11) * 0x1p-53));
        }
        int control = 0x037f; // FNINIT's: round to nearest, 64-bit precision, all masked
        System.out.println("Float80 operations on normal operands (best of 15 rounds):");
        time("add (FADD)", i -> Float80.add(new Float80.Env(control), a[i], b[i], false).m());
        time("subtract (FSUB)", i -> Float80.add(new Float80.Env(control), a[i], b[i], true).m());
        time("multiply (FMUL)", i -> Float80.multiply(new Float80.Env(control), a[i], b[i]).m());
        time("multiply, 53-bit precision", i -> Float80.multiply(new Float80.Env(0x027f), a[i], b[i]).m());
        time("divide (FDIV)", i -> Float80.divide(new Float80.Env(control), a[i], b[i]).m());
        time("from double (FLD m64)", i -> Float80.fromIeee(new Float80.Env(control), doubles[i], 8).m());
        time("to double (FST m64)", i -> Float80.toIeee(new Float80.Env(control), a[i], 8));
        time("to single (FST m32)", i -> Float80.toIeee(new Float80.Env(control), a[i], 4));
        time("to int32 (FIST m32)", i -> Float80.toLong(new Float80.Env(control), a[i], 32, 0));
        time("round to integer (FRNDINT)", i -> Float80.roundToInteger(new Float80.Env(control), a[i]).m());
        time("square root (FSQRT)", i -> Float80.sqrt(new Float80.Env(control), a[i].withSign(false)).m());
        Float80[] small = new Float80[OPERANDS];
        for (int i = 0; i < OPERANDS; i++) {
            small[i] = Float80.of(a[i].negative(), 16383 - 1 - (i & 3), a[i].m());
        }
        System.out.println("Transcendentals: the fixed-point kernels the instructions use, and the BigDecimal"
                + " reference (X87Math.exactValue) the vector test decides C1 with:");
        timeSlow("sine (FSIN)", i -> X87Math.sinCosFixed(small[i])[0].round(new Float80.Env(control)).m());
        timeSlow("sine of a large angle", i -> X87Math.sinCosFixed(a[i].withSign(false))[0]
                .round(new Float80.Env(control)).m());
        timeSlow("reference sine", i -> X87Math.exactValue(X87.R_FSIN, small[i], b[i]).hashCode());
        timeSlow("2^x - 1 (F2XM1)", i -> X87Math.twoToXMinus1Fixed(small[i]).round(new Float80.Env(control)).m());
        timeSlow("y log2 x (FYL2X)", i -> X87Math.yLog2X(new Float80.Env(control), a[i].withSign(false), b[i]).m());
        timeSlow("reference y log2 x", i -> X87Math.exactValue(X87.R_FYL2X, a[i].withSign(false), b[i]).hashCode());
        timeSlow("arctangent (FPATAN)", i -> X87Math.angleFixed(b[i], small[i]).round(new Float80.Env(control)).m());
        timeSlow("reference arctangent", i -> X87Math.exactValue(X87.R_FPATAN, small[i], b[i]).hashCode());
        interpreterLoop();
        mandelbrotLoop();
    }

    /** Like time(), for operations slow enough that a few hundred calls tell. */
    private static void timeSlow(String name, IntToLongFunction operation) {
        long sink = 0;
        double best = Double.MAX_VALUE;
        for (int round = 0; round < 5; round++) {
            long start = System.nanoTime();
            for (int i = 0; i < 256; i++) {
                sink += operation.applyAsLong(i);
            }
            best = Math.min(best, (System.nanoTime() - start) / 256.0);
        }
        System.out.printf("  %-28s %8.1f us   (checksum %x)%n", name, best / 1000, sink);
    }

    /** The loop's machine code: {@code x87} true for the FPU loop, false for an integer loop of the same shape. */
    private static int[] loop(int data, int iterations, boolean x87) {
        int[] body = x87 ? new int[] {
            0xdd, 0x05, data & 0xff, (data >>> 8) & 0xff, data >>> 16, 0, // fld qword [data]
            0xdc, 0x05, (data + 8) & 0xff, ((data + 8) >>> 8) & 0xff, (data + 8) >>> 16, 0, // fadd qword [data+8]
            0xdc, 0x0d, (data + 16) & 0xff, ((data + 16) >>> 8) & 0xff, (data + 16) >>> 16, 0, // fmul qword [data+16]
            0xd9, 0xc0, // fld st0
            0xd8, 0xc9, // fmul st0, st1
            0xde, 0xc1, // faddp st1, st0
            0xdd, 0x1d, (data + 24) & 0xff, ((data + 24) >>> 8) & 0xff, (data + 24) >>> 16, 0, // fstp qword [data+24]
        } : new int[] {
            0x8b, 0x05, data & 0xff, (data >>> 8) & 0xff, data >>> 16, 0, // mov eax, [data]
            0x03, 0x05, (data + 8) & 0xff, ((data + 8) >>> 8) & 0xff, (data + 8) >>> 16, 0, // add eax, [data+8]
            0x0f, 0xaf, 0x05, (data + 16) & 0xff, ((data + 16) >>> 8) & 0xff, (data + 16) >>> 16, 0, // imul eax, [data+16]
            0x89, 0xc2, // mov edx, eax
            0x0f, 0xaf, 0xd0, // imul edx, eax
            0x01, 0xd0, // add eax, edx
            0x89, 0x05, (data + 24) & 0xff, ((data + 24) >>> 8) & 0xff, (data + 24) >>> 16, 0, // mov [data+24], eax
        };
        int[] code = new int[7 + body.length + 3];
        int[] head = {0xdb, 0xe3, 0xb9, iterations & 0xff, (iterations >>> 8) & 0xff, iterations >>> 16, 0};
        System.arraycopy(head, 0, code, 0, head.length); // fninit; mov ecx, iterations
        System.arraycopy(body, 0, code, head.length, body.length);
        int at = head.length + body.length;
        code[at] = 0x49; // dec ecx
        code[at + 1] = 0x75; // jnz loop
        code[at + 2] = -(body.length + 3) & 0xff;
        code[at + 3] = 0xf4; // hlt
        return code;
    }

    /**
     * A guest loop of FLD/FADD/FMUL/FST on doubles, as compiled C does it, through the
     * interpreter, and the same loop shape in integer instructions for comparison.
     */
    private static void interpreterLoop() {
        int data = TestMachine.DATA;
        int iterations = 200_000;
        for (boolean x87 : new boolean[] {true, false}) {
            try (TestMachine m = new TestMachine()) {
                m.load(data, doubleBytes(1.5, 0.25, 0.999, 0));
                m.load(TestMachine.CODE, loop(data, iterations, x87));
                long instructions = 2 + 9L * iterations;
                long best = Long.MAX_VALUE;
                for (int round = 0; round < 7; round++) {
                    CpuState s = m.cpu.saveState();
                    s.eip = TestMachine.CODE;
                    m.cpu.loadState(s);
                    long start = System.nanoTime();
                    // The budget ends the run right after the loop's last instruction.
                    CpuExit exit = m.cpu.run(instructions);
                    best = Math.min(best, System.nanoTime() - start);
                    if (exit.reason() != ExitReason.BUDGET || m.cpu.gpr[dev.lguest.api.cpu.X86.ECX] != 0) {
                        throw new IllegalStateException("the loop ended with " + exit);
                    }
                }
                System.out.printf("Interpreter %s (best of 7 rounds): %.1f million guest instructions per second"
                        + " (%.1f ns each)%n", x87 ? "x87 loop, 7 of 9 instructions x87" : "same loop in integer code",
                        instructions * 1e3 / best, (double) best / instructions);
            }
        }
    }

    /**
     * The inner loop of guest/benchmarks/x87.c's Mandelbrot set as gcc -O2 -march=i686
     * compiles it (register-to-register FMUL/FADD/FSUBRP/FMULP, FLD ST(i), FXCH, FLDS
     * m32, FCOMIP, FSTP ST(0)), on a point inside the set so it never escapes; only the
     * loop counter differs (DEC ECX; JNZ instead of the iteration count's compare).
     */
    private static void mandelbrotLoop() {
        int data = TestMachine.DATA;
        int iterations = 100_000;
        int[] head = {
            0xdb, 0xe3, // fninit
            0xdd, 0x05, data & 0xff, (data >>> 8) & 0xff, data >>> 16, 0, // fld qword [ci]
            0xdd, 0x05, (data + 8) & 0xff, ((data + 8) >>> 8) & 0xff, (data + 8) >>> 16, 0, // fld qword [cr]
            0xd9, 0xee, // fldz
            0xd9, 0xc0, // fld st0
            0xb9, iterations & 0xff, (iterations >>> 8) & 0xff, iterations >>> 16, 0, // mov ecx, iterations
        };
        int[] body = {
            0xd9, 0xc1, 0xd8, 0xca, // fld st1; fmul st, st2
            0xd9, 0xc1, 0xd8, 0xca, // fld st1; fmul st, st2
            0xd9, 0xc1, 0xd8, 0xc1, // fld st1; fadd st, st1
            0xd9, 0x05, (data + 16) & 0xff, ((data + 16) >>> 8) & 0xff, (data + 16) >>> 16, 0, // flds [four]
            0xdf, 0xf1, 0xdd, 0xd8, // fcomip st, st1; fstp st0
            0xde, 0xe9, 0xd8, 0xc3, // fsubrp st1, st; fadd st, st3
            0xd9, 0xca, 0xd8, 0xc0, // fxch st2; fadd st, st0
            0xde, 0xc9, 0xd8, 0xc3, // fmulp st1, st; fadd st, st3
        };
        // HLT after the loop ends the translator's block there (the budget ends the run before it).
        int[] code = new int[head.length + body.length + 4];
        System.arraycopy(head, 0, code, 0, head.length);
        System.arraycopy(body, 0, code, head.length, body.length);
        int at = head.length + body.length;
        code[at] = 0x49; // dec ecx
        code[at + 1] = 0x75; // jnz loop
        code[at + 2] = -(body.length + 3) & 0xff;
        code[at + 3] = 0xf4; // hlt
        try (TestMachine m = new TestMachine()) {
            int[] constants = doubleBytes(0.25, -0.5, 0);
            int four = Float.floatToRawIntBits(4.0f);
            for (int k = 0; k < 4; k++) {
                constants[16 + k] = (four >>> (8 * k)) & 0xff;
            }
            m.load(data, constants);
            m.load(TestMachine.CODE, code);
            long instructions = 6 + 17L * iterations;
            long best = Long.MAX_VALUE, bestCpu = Long.MAX_VALUE;
            java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
            for (int round = 0; round < 7; round++) {
                CpuState s = m.cpu.saveState();
                s.eip = TestMachine.CODE;
                m.cpu.loadState(s);
                long start = System.nanoTime(), startCpu = threads.getCurrentThreadCpuTime();
                CpuExit exit = m.cpu.run(instructions);
                best = Math.min(best, System.nanoTime() - start);
                bestCpu = Math.min(bestCpu, threads.getCurrentThreadCpuTime() - startCpu);
                if (exit.reason() != ExitReason.BUDGET || m.cpu.gpr[dev.lguest.api.cpu.X86.ECX] != 0) {
                    throw new IllegalStateException("the loop ended with " + exit);
                }
            }
            System.out.printf("Interpreter Mandelbrot loop (best of 7 rounds, 15 of 17 instructions x87):"
                    + " %.1f million guest instructions per second (%.1f ns each; %.1f ns of CPU time)%n",
                    instructions * 1e3 / best, (double) best / instructions, (double) bestCpu / instructions);
        }
    }

    private static int[] doubleBytes(double... values) {
        int[] bytes = new int[8 * values.length];
        for (int v = 0; v < values.length; v++) {
            long bits = Double.doubleToRawLongBits(values[v]);
            for (int k = 0; k < 8; k++) {
                bytes[8 * v + k] = (int) (bits >>> (8 * k)) & 0xff;
            }
        }
        return bytes;
    }
}
