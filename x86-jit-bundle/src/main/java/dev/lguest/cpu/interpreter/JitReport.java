// Figures for the benchmarks, asked for with lguest.jit.report=true: when the JVM ends,
// one line per translating CPU made (translations made, flushes of the capped code
// cache, translations still tracked) and the JVM's metaspace in use, committed and at
// its peak, the classes loaded and unloaded, and the collections (those the code cache
// asked for to unload dropped translations, and each collector's count and time), so
// the code cache's bound is seen over a whole guest run (a Linux boot, many programs).
// With lguest.jit.countInterpreted=true also the instructions compiled blocks handed to
// the interpreter, counted by form (opcode, prefixes, sizes, register or memory operand),
// the commonest first: what the next forms to compile should be. With
// lguest.jit.interpretedBlocks=true also the block runs and instructions the translating
// CPU left to the interpreter, by reason (cold: the block has not run lguest.jit.threshold
// times yet; waiting: queued for the background compiler; failed: its translation failed;
// budget: what is left of the run's budget is shorter than the block), and the blocks
// that took the most runs, by EIP. That answered why short programs gain little from
// the translator: in the Linux benchmark's syscalls program every block of the
// kernel's system call path runs 10,000 times interpreted before it is compiled, and
// in forkexec the fork path's blocks never reach the threshold at all.
package dev.lguest.cpu.interpreter;

import java.lang.management.ClassLoadingMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.constant.ClassDesc;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;

final class JitReport {
    private static final List<TranslatingCpu> CPUS = new CopyOnWriteArrayList<>();
    static final ClassDesc CD_REPORT = ClassDesc.of("dev.lguest.cpu.interpreter.JitReport");
    /** Compiled blocks count what they hand to the interpreter (read when a block is translated). */
    static final boolean COUNTING = Boolean.getBoolean("lguest.jit.countInterpreted");
    private static final Map<String, LongAdder> INTERPRETED = new ConcurrentHashMap<>();
    /** The translating CPU counts the blocks it leaves to the interpreter (TranslatingCpu.runBlock). */
    static final boolean COUNTING_BLOCKS = Boolean.getBoolean("lguest.jit.interpretedBlocks");
    private static final Map<String, LongAdder> BLOCK_RUNS = new ConcurrentHashMap<>();
    private static final Map<String, LongAdder> BLOCK_INSTRUCTIONS = new ConcurrentHashMap<>();
    private static final Map<String, LongAdder> BLOCKS = new ConcurrentHashMap<>();

    // Only when a report was asked for: compiled code reads COUNTING, which loads this
    // class in every run, and a hook registered then would print into every guest's
    // stderr and hold this bundle's class loader for the JVM's life (a swapped-out
    // translator bundle could never be unloaded).
    static {
        if (COUNTING || COUNTING_BLOCKS || Boolean.getBoolean("lguest.jit.report")) {
            Runtime.getRuntime().addShutdownHook(new Thread(JitReport::print));
        }
    }

    private JitReport() {
    }

    static void watch(TranslatingCpu cpu) {
        CPUS.add(cpu);
    }

    /** Called by compiled code before it hands {@code in} to the interpreter (when COUNTING). */
    static void interpreted(Instruction in) {
        count(INTERPRETED, formName(in), 1);
    }

    /** A block the translating CPU runs in the interpreter; {@code compiled} its translation if it has one (when COUNTING_BLOCKS). */
    static void interpretedBlock(Block block, CompiledBlock compiled) {
        String reason = compiled != null ? "budget"
                : block.translation == null ? "cold"
                : block.translation == TranslatingCpu.NOT_COMPILED ? "failed" : "waiting";
        count(BLOCK_RUNS, reason, 1);
        count(BLOCK_INSTRUCTIONS, reason, block.code.length);
        count(BLOCKS, reason + " " + Integer.toHexString(block.eip) + " (" + block.code.length + " instructions)", 1);
    }

    private static void count(Map<String, LongAdder> counters, String key, long amount) {
        counters.computeIfAbsent(key, k -> new LongAdder()).add(amount);
    }

    /** The {@code shown} largest counters, largest first, a line each after the prefix. */
    private static void printLargest(Map<String, LongAdder> counters, int shown, String prefix) {
        counters.entrySet().stream()
                .sorted(Comparator.comparingLong((Map.Entry<String, LongAdder> e) -> e.getValue().sum()).reversed())
                .limit(shown)
                .forEach(e -> System.err.printf("%s%,14d  %s%n", prefix, e.getValue().sum(), e.getKey()));
    }

    private static String formName(Instruction in) {
        StringBuilder name = new StringBuilder();
        if (in.repeat != 0) {
            name.append(Integer.toHexString(in.repeat())).append(' ');
        }
        if (in.lock) {
            name.append("lock ");
        }
        name.append(in.opcode >= 0x100 ? String.format("0f %02x", in.opcode & 0xff) : String.format("%02x", in.opcode));
        if ((in.flags & OpcodeTable.MODRM) != 0) {
            name.append(in.mod == 3 ? " reg" : " mem").append(" /").append(in.reg);
        }
        name.append(in.operand32 ? " o32" : " o16").append(in.address32 ? "" : " a16");
        if (in.segmentOverride >= 0) {
            name.append(" seg").append(in.segmentOverride);
        }
        return name.toString();
    }

    private static void print() {
        if (COUNTING) {
            long total = INTERPRETED.values().stream().mapToLong(LongAdder::sum).sum();
            System.err.printf("jit: %,d instructions handed to the interpreter by compiled blocks%n", total);
            printLargest(INTERPRETED, 40, "jit:   ");
        }
        if (COUNTING_BLOCKS) {
            BLOCK_RUNS.forEach((reason, runs) -> System.err.printf("jit: interpreted blocks %-8s %,d runs, %,d instructions%n",
                    reason, runs.sum(), BLOCK_INSTRUCTIONS.get(reason).sum()));
            printLargest(BLOCKS, 30, "jit: interpreted blocks ");
        }
        for (TranslatingCpu cpu : CPUS) {
            System.err.printf("jit: %,d translations made (%,d on the guest's thread), %d flushes, %,d tracked,"
                            + " %d unloads asked, %d failed, %,d instructions retired, %,d string iterations in bulk%n",
                    cpu.translations.made, cpu.blocksCompiled, cpu.translations.flushes, cpu.translations.tracked(),
                    cpu.translations.unloads, cpu.translationFailures, cpu.retired,
                    cpu.executor.strings.bulkIterations);
            System.err.printf("jit: %,d regions made, %,d too large, %,d failed%n", cpu.regionsCompiled,
                    cpu.regionsTooLarge, cpu.regionFailures);
        }
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getName().equals("Metaspace")) {
                System.err.printf("jit: metaspace %.1f MB used, %.1f MB committed, peak %.1f MB used%n",
                        pool.getUsage().getUsed() / 1e6, pool.getUsage().getCommitted() / 1e6,
                        pool.getPeakUsage().getUsed() / 1e6);
            }
        }
        StringBuilder collectors = new StringBuilder();
        for (GarbageCollectorMXBean collector : ManagementFactory.getGarbageCollectorMXBeans()) {
            collectors.append(String.format(", %s %,d (%,d ms)", collector.getName(), collector.getCollectionCount(),
                    collector.getCollectionTime()));
        }
        System.err.printf("jit: collections: %d started to unload translations%s%n", Unloader.COLLECTIONS.get(),
                collectors);
        ClassLoadingMXBean classes = ManagementFactory.getClassLoadingMXBean();
        System.err.printf("jit: classes loaded %,d, unloaded %,d, now %,d%n", classes.getTotalLoadedClassCount(),
                classes.getUnloadedClassCount(), classes.getLoadedClassCount());
    }
}
