// Which blocks the translating CPU still interprets, and why, asked for with
// -Dlguest.jit.interpretedBlocks=true (a measurement aid, off by default): when the JVM
// ends, the block runs and instructions the interpreter took, by reason (cold: the block
// has not run lguest.jit.threshold times yet; waiting: queued for the background
// compiler; budget: what is left of the run's budget is shorter than the block), and
// the blocks that took the most runs, by EIP. It answered why short programs gain
// little from the translator: in the Linux benchmark's syscalls program (40,000 rounds
// of four system calls) every block of the kernel's system call path runs 10,000 times
// interpreted before it is queued, and in forkexec (300 fork+exec) the fork path's
// blocks never reach the threshold at all.
package dev.lguest.cpu.interpreter;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

final class InterpretedBlocks {
    static final boolean ON = Boolean.getBoolean("lguest.jit.interpretedBlocks");
    private static final int SHOWN = 30;
    private static final Map<String, LongAdder> RUNS = new ConcurrentHashMap<>();
    private static final Map<String, LongAdder> INSTRUCTIONS = new ConcurrentHashMap<>();
    private static final Map<String, LongAdder> BLOCKS = new ConcurrentHashMap<>();

    static {
        if (ON) {
            Runtime.getRuntime().addShutdownHook(new Thread(InterpretedBlocks::print));
        }
    }

    private InterpretedBlocks() {
    }

    /** A block the interpreter runs; {@code compiled} is its translation if it has one. */
    static void ran(Block block, CompiledBlock compiled) {
        String reason = compiled != null ? "budget" : block.translation == null ? "cold" : "waiting";
        RUNS.computeIfAbsent(reason, k -> new LongAdder()).increment();
        INSTRUCTIONS.computeIfAbsent(reason, k -> new LongAdder()).add(block.code.length);
        BLOCKS.computeIfAbsent(reason + " " + Integer.toHexString(block.eip) + " (" + block.code.length
                + " instructions)", k -> new LongAdder()).increment();
    }

    private static void print() {
        RUNS.forEach((reason, runs) -> System.err.printf("interpreted blocks: %-8s %,d runs, %,d instructions%n",
                reason, runs.sum(), INSTRUCTIONS.get(reason).sum()));
        BLOCKS.entrySet().stream()
                .sorted((a, b) -> Long.compare(b.getValue().sum(), a.getValue().sum()))
                .limit(SHOWN)
                .forEach(e -> System.err.printf("interpreted blocks: %,12d %s%n", e.getValue().sum(), e.getKey()));
    }
}
