// Figures on a guest's exits, asked for with -Dlguest.exitProfile=true (a measurement
// aid for the benchmarks, off by default): when the JVM ends, the CPU runs the run loop
// made, how many of them were runs in which the CPU re-read no code (only the frames
// the host named were written), the instructions retired per run, the time spent inside
// the CPU and outside it (the host's share of each exit: hypercalls, trap delivery,
// the shadow page tables, and a halted guest's sleep), and the exits by reason and by
// vector. A system call on lguest is a direct trap and never exits, so a program whose
// exits are few is CPU-bound; a fork+exec takes about fifty (hypercalls and page faults).
// The counts are plain fields: one guest thread writes them (with several guests running
// the figures are approximate, which a measurement aid may be).
package dev.lguest.switcher;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.ExitReason;

final class ExitProfile {
    static final boolean ON = Boolean.getBoolean("lguest.exitProfile");
    private static final long[] REASONS = new long[ExitReason.values().length];
    private static final long[] VECTORS = new long[256];
    private static long runs, namedWritesOnly, instructions, cpuNanos, hostNanos, lastExit;

    static {
        if (ON) {
            Runtime.getRuntime().addShutdownHook(new Thread(ExitProfile::print));
        }
    }

    private ExitProfile() {
    }

    /** Before a run: the time since the last exit was the host's. Returns the run's start. */
    static long runStarts() {
        long now = System.nanoTime();
        if (lastExit != 0) {
            hostNanos += now - lastExit;
        }
        return now;
    }

    static void runEnded(long start, CpuExit exit, boolean onlyNamedWrites) {
        long now = System.nanoTime();
        cpuNanos += now - start;
        lastExit = now;
        runs++;
        if (onlyNamedWrites) {
            namedWritesOnly++;
        }
        instructions += exit.instructions();
        REASONS[exit.reason().ordinal()]++;
        if (exit.reason() == ExitReason.VECTOR) {
            VECTORS[exit.vector() & 0xff]++;
        }
    }

    private static void print() {
        long perRun = runs == 0 ? 0 : instructions / runs;
        System.err.printf("exits: %,d runs (%,d re-reading no code), %,d instructions (%,d a run), "
                        + "%,d ms in the CPU, %,d ms in the host (%,d ns an exit)%n",
                runs, namedWritesOnly, instructions, perRun, cpuNanos / 1_000_000, hostNanos / 1_000_000,
                runs == 0 ? 0 : hostNanos / runs);
        for (ExitReason reason : ExitReason.values()) {
            if (REASONS[reason.ordinal()] != 0) {
                System.err.printf("exits: %-12s %,d%n", reason, REASONS[reason.ordinal()]);
            }
        }
        for (int vector = 0; vector < VECTORS.length; vector++) {
            if (VECTORS[vector] != 0) {
                System.err.printf("exits: vector %#04x %,d%n", vector, VECTORS[vector]);
            }
        }
    }
}
