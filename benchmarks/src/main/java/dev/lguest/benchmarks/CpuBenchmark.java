package dev.lguest.benchmarks;

import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.cpu.interpreter.InterpreterCpuFactory;
import dev.lguest.cpu.interpreter.TranslatingCpuFactory;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.TimeUnit;

/**
 * How fast a CPU (the interpreter, or the translator of x86-jit-bundle: parameter cpu)
 * runs a CPU-bound workload compiled from C with
 * gcc -m32 -O2 (guest/bench): workload(rounds) runs per second, and, as an
 * auxiliary counter, guest instructions per second. A second counter, the benchmark
 * thread's CPU time, gives instructions per second of CPU the thread really got, the
 * steadier figure on a machine other work shares.
 *
 * Run: java -jar benchmarks/target/benchmarks.jar CpuBenchmark (or benchmarks/cpu-benchmark,
 * which also times the same workload natively and under qemu-i386).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
// The collector every build runs with (launcher-bundle/jvm.options; benchmarks/cpu-benchmark
// appends that whole file to the fork's options).
@Fork(value = 1, jvmArgs = {"--enable-native-access=ALL-UNNAMED", "-XX:+UseZGC"})
public class CpuBenchmark {
    @Param("100")
    public int rounds;

    /** Which CPU: "interpreter" (x86-cpu-bundle) or "translator" (x86-jit-bundle). */
    @Param({"interpreter", "translator"})
    public String cpu;

    private BareMachine machine;

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /**
     * Guest instructions retired and nanoseconds of CPU time used, reported by JMH as
     * rates per second of wall time; their ratio is instructions per CPU second.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Instructions {
        public long instructions;
        public long cpuNanos;

        @Setup(Level.Iteration)
        public void clear() {
            instructions = 0;
            cpuNanos = 0;
        }
    }

    @Setup(Level.Trial)
    public void boot() throws IOException {
        try (InputStream in = CpuBenchmark.class.getClassLoader().getResourceAsStream("guests/bench-bare.elf")) {
            if (in == null) {
                throw new IOException("guests/bench-bare.elf is not on the class path");
            }
            X86CpuFactory factory = switch (cpu) {
                case "interpreter" -> new InterpreterCpuFactory();
                case "translator" -> new TranslatingCpuFactory();
                default -> throw new IllegalArgumentException("no CPU named " + cpu);
            };
            machine = new BareMachine(factory, in.readAllBytes());
        }
    }

    @TearDown(Level.Trial)
    public void shutDown() {
        machine.close();
    }

    @Benchmark
    public int workload(Instructions counter) {
        long[] retired = new long[1];
        long cpuStart = THREADS.getCurrentThreadCpuTime();
        int sum = machine.run(rounds, retired);
        counter.cpuNanos += THREADS.getCurrentThreadCpuTime() - cpuStart;
        counter.instructions += retired[0];
        return sum;
    }
}
