package dev.lguest.itests;

import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What stops a guest that no swap is to blame for, read before and after a window so
 * the swap pause benchmark can tell the swap's part of a pause from the machine's:
 *
 *   - the guest thread's wait for a CPU: Linux schedstat for the thread
 *     (/proc/self/task/TID/schedstat, second field: nanoseconds runnable but waiting
 *     in a run queue), which is most of a busy machine's noise;
 *   - time stolen from this (virtual) machine by its hypervisor: the steal column of
 *     /proc/stat, per CPU, in clock ticks (10 ms), the largest of the CPUs' since a
 *     stall of the whole VM stops every CPU at once;
 *   - the JVM's collector pauses, from the GarbageCollectorMXBeans (milliseconds).
 *
 * An unreadable source counts as zero: the figures then only explain less.
 *
 * One more reading is not noise but the opposite: how long the guest thread was
 * blocked or waiting (a monitor, a lock, a condition: ThreadMXBean with contention
 * monitoring, milliseconds). A guest that never halts, like the pause probe, only
 * waits when the host makes it, so this is what a swap costs it whatever the load.
 */
final class HostNoise {
    private static final long NANOS_PER_TICK = 10_000_000;

    /** One reading. */
    record Reading(long cpuWait, long[] steal, long collection, long blocked) {
    }

    private final Path schedstat;
    private final long threadId;
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    /** The collectors that stop the world (G1's "Concurrent GC" bean counts time that does not). */
    private final List<GarbageCollectorMXBean> collectors = ManagementFactory.getGarbageCollectorMXBeans().stream()
            .filter(c -> !c.getName().contains("Concurrent")).toList();

    private HostNoise(Path schedstat, long threadId) {
        this.schedstat = schedstat;
        this.threadId = threadId;
        if (threads.isThreadContentionMonitoringSupported()) {
            threads.setThreadContentionMonitoringEnabled(true);
        }
    }

    /** For {@code thread} (Linux knows it by the first 15 characters of its name). */
    static HostNoise forThread(Thread thread) {
        String threadName = thread.getName();
        String comm = threadName.length() > 15 ? threadName.substring(0, 15) : threadName;
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                if (comm.equals(Files.readString(task.resolve("comm")).strip())) {
                    return new HostNoise(task.resolve("schedstat"), thread.threadId());
                }
            }
        } catch (IOException | RuntimeException e) {
            // No /proc: no thread figures.
        }
        return new HostNoise(null, thread.threadId());
    }

    Reading read() {
        return new Reading(cpuWait(), steal(), collection(), blocked());
    }

    /** How long the thread was blocked or waiting between two readings, nanoseconds (1 ms steps). */
    static long blocked(Reading before, Reading after) {
        return (after.blocked() - before.blocked()) * 1_000_000;
    }

    /** The guest thread's wait for a CPU between two readings, nanoseconds. */
    static long cpuWait(Reading before, Reading after) {
        return after.cpuWait() - before.cpuWait();
    }

    /** How long the hypervisor held the VM between two readings, nanoseconds (10 ms steps). */
    static long stolen(Reading before, Reading after) {
        long most = 0;
        for (int i = 0; i < Math.min(before.steal().length, after.steal().length); i++) {
            most = Math.max(most, after.steal()[i] - before.steal()[i]);
        }
        return most * NANOS_PER_TICK;
    }

    /** Collector pauses between two readings, nanoseconds (1 ms steps). */
    static long collecting(Reading before, Reading after) {
        return (after.collection() - before.collection()) * 1_000_000;
    }

    private long cpuWait() {
        if (schedstat == null) {
            return 0;
        }
        try {
            return Long.parseLong(Files.readString(schedstat).strip().split(" ")[1]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** The steal column (the 8th number) of each cpuN line of /proc/stat. */
    private static long[] steal() {
        try {
            return Files.readAllLines(Path.of("/proc/stat")).stream()
                    .filter(l -> l.startsWith("cpu") && !l.startsWith("cpu "))
                    .mapToLong(l -> Long.parseLong(l.trim().split("\\s+")[8]))
                    .toArray();
        } catch (IOException | RuntimeException e) {
            return new long[0];
        }
    }

    private long blocked() {
        ThreadInfo info = threads.getThreadInfo(threadId);
        return info == null ? 0 : Math.max(0, info.getBlockedTime()) + Math.max(0, info.getWaitedTime());
    }

    private long collection() {
        long total = 0;
        for (GarbageCollectorMXBean c : collectors) {
            total += Math.max(0, c.getCollectionTime());
        }
        return total;
    }
}
