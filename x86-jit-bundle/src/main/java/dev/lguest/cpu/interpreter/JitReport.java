// Figures for the benchmarks, asked for with lguest.jit.report=true: when the JVM ends,
// one line per translating CPU made (translations made, flushes of the capped code
// cache, translations still tracked) and the JVM's metaspace in use, committed and at
// its peak, the classes loaded and unloaded, and the collections (those the code cache
// asked for to unload dropped translations, and each collector's count and time), so
// the code cache's bound is seen over a whole guest run (a Linux boot, many programs).
package dev.lguest.cpu.interpreter;

import java.lang.management.ClassLoadingMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

final class JitReport {
    private static final List<TranslatingCpu> CPUS = new CopyOnWriteArrayList<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(JitReport::print));
    }

    private JitReport() {
    }

    static void watch(TranslatingCpu cpu) {
        CPUS.add(cpu);
    }

    private static void print() {
        for (TranslatingCpu cpu : CPUS) {
            System.err.printf("jit: %,d translations made (%,d on the guest's thread), %d flushes, %,d tracked,"
                            + " %d unloads asked, %d failed, %,d instructions retired%n", cpu.translations.made,
                    cpu.blocksCompiled, cpu.translations.flushes, cpu.translations.tracked(), cpu.translations.unloads,
                    cpu.translationFailures, cpu.retired);
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
