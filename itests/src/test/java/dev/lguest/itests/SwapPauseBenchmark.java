package dev.lguest.itests;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.launcher.GuestLauncher;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;

import javax.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The swap pause benchmark: how long a running guest stops when one of its components
 * is replaced, as the guest itself sees it. Not a test (its name does not end in IT,
 * so `verify` leaves it out) and nothing is asserted: it prints a table, and writes it
 * to target/swap-pause.txt. Run it with benchmarks/swap-benchmark.
 *
 * The guest is the test kernel's pause probe (mode=pauseprobe, pauseprobe.c): a pure
 * CPU guest, no disk traffic, that computes a little, makes a hypercall, reads the
 * wall clock the switcher writes into lguest_data at every entry, and reports every
 * gap between two reads over {@value #THRESHOLD_MICROS} us with the moment it ended.
 * For each component the guest runs while the component's bundle is swapped
 * {@code lguest.swap.count} times by alternating two installed copies. A swap's window
 * is from just before start() of the new copy to {@value #SETTLE_MILLIS} ms after
 * stop() of the old one returned (a hand-over the guest's thread makes later still
 * counts); its pause is the longest gap the guest reported that overlaps the window.
 * The baseline is the same measure over a window as long with no swap, started
 * {@value #SPACING_MILLIS} ms after the swap's: the host's own noise (other processes on
 * the core, the JIT, the collector), which no swap can do better than. Since on a busy
 * machine most of that noise is the guest's thread waiting for a CPU, the table also
 * gives the noise in each window ({@link HostNoise}: that wait, the hypervisor's steal,
 * the collector's pauses) and the part of each pause the noise cannot explain.
 *
 * With lguest.swap.guest=linux the guest is the real Linux 2.6.24 guest instead, its only
 * process the same kind of probe (LinuxPauseProbe, guest/programs/clockprobe.c), whose
 * clock is put onto the host's before its gaps are matched with the windows.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class SwapPauseBenchmark {
    private static final int SWAPS = Integer.getInteger("lguest.swap.count", 50);
    /** lguest.swap.guest=linux: the real Linux guest running its probe (LinuxPauseProbe) instead of the test kernel. */
    private static final boolean LINUX = "linux".equals(System.getProperty("lguest.swap.guest"));
    /** Gaps shorter than this are not reported: a pause under it shows as "<1". */
    static final long THRESHOLD_MICROS = 1_000;
    private static final long SETTLE_MILLIS = 20;
    /** Between a swap's window and its baseline's, and after that: one long stop seldom spans both. */
    private static final long SPACING_MILLIS = 100;
    /** Running time before the first swap, for the JIT to compile the guest's hot path. */
    private static final long WARM_UP_MILLIS = 1_000;

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    /**
     * One swap: its window, how long the swap call took, the guest's longest pause in
     * the window (-1: under the threshold) and the host's noise in it (HostNoise: the
     * guest thread's wait for a CPU, steal, collector pauses), and the same two for
     * the baseline window after it. Nanoseconds.
     */
    private record Swap(PauseProbe.Window window, long call, long pause, long noise, long blocked, long basePause,
                        long baseNoise, PauseProbe.Gap gap) {
        long pauseBeyondNoise() {
            return beyond(pause, noise);
        }

        long basePauseBeyondNoise() {
            return beyond(basePause, baseNoise);
        }

        /** The part of a pause the noise cannot explain (at least this much was something else). */
        private static long beyond(long pause, long noise) {
            return pause < 0 ? pause : Math.max(0, pause - noise);
        }
    }

    private record Row(String component, List<Swap> swaps) {
        long[] of(java.util.function.ToLongFunction<Swap> figure) {
            return swaps.stream().mapToLong(figure).toArray();
        }
    }

    @Test
    public void swapPauses() throws Exception {
        String only = System.getProperty("lguest.swap.only");
        List<Row> rows = new ArrayList<>();
        for (SwapKit.Component c : SwapKit.COMPONENTS) {
            if (only == null || only.isBlank() || Arrays.asList(only.split(",")).contains(c.bundle())) {
                rows.add(measure(c));
            }
        }
        String table = table(rows);
        System.out.println(table);
        write(Path.of("target", "swap-pause.txt"), table);
        write(Path.of("target", "swap-pause-swaps.txt"), perSwap(rows));
    }

    private static void write(Path out, String text) {
        try {
            Files.createDirectories(out.getParent());
            Files.writeString(out, text);
        } catch (IOException e) {
            System.out.println("(could not write " + out.toAbsolutePath() + ": " + e.getMessage() + ")");
        }
    }

    /** Every swap on a line, for looking a long pause up in a JFR recording or a GC log. */
    private static String perSwap(List<Row> rows) {
        StringBuilder b = new StringBuilder("# component, swap, window start (UTC), window ms, call ms, pause ms,"
                + " noise ms, blocked ms, baseline pause ms, baseline noise ms, the pause's start (UTC)\n");
        for (Row r : rows) {
            int i = 0;
            for (Swap s : r.swaps()) {
                b.append(String.format(Locale.ROOT, "%s\t%d\t%s\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%s%n", r.component(),
                        ++i, java.time.Instant.ofEpochSecond(0, s.window().start()), s.window().length() / 1e6,
                        ms(s.call()), pause(s.pause()), ms(s.noise()), ms(s.blocked()), pause(s.basePause()),
                        ms(s.baseNoise()),
                        s.gap() == null ? "-" : java.time.Instant.ofEpochSecond(0, s.gap().start())));
            }
        }
        return b.toString();
    }

    private Row measure(SwapKit.Component c) throws Exception {
        record Timed(PauseProbe.Window window, long call, long noise, long blocked) {
        }
        List<Timed> swapWindows = new ArrayList<>();
        List<Timed> quietWindows = new ArrayList<>();
        String console;
        long guestClockOffset = 0;
        try (SwapKit.Alternation copies = new SwapKit.Alternation(context, c.bundle());
             SwapKit.Run run = LINUX ? LinuxPauseProbe.boot(launcher, THRESHOLD_MICROS)
                     : SwapKit.boot(launcher, PauseProbe.arguments(THRESHOLD_MICROS))) {
            Guest guest = run.awaitGuest();
            run.awaitOutput(LINUX ? "# clockprobe ready" : "# pauseprobe ready", Duration.ofSeconds(LINUX ? 180 : 60));
            HostNoise host = HostNoise.forThread(guest.owner);
            if (LINUX) {
                guestClockOffset = LinuxPauseProbe.offset(run, 2 * WARM_UP_MILLIS);
            } else {
                Thread.sleep(WARM_UP_MILLIS);
            }
            for (int i = 0; i < SWAPS; i++) {
                HostNoise.Reading before = host.read();
                long start = PauseProbe.now();
                long callStart = System.nanoTime();
                copies.swap();
                long call = System.nanoTime() - callStart;
                Thread.sleep(SETTLE_MILLIS);
                PauseProbe.Window window = new PauseProbe.Window(start, PauseProbe.now());
                HostNoise.Reading after = host.read();
                swapWindows.add(new Timed(window, call, noise(before, after), HostNoise.blocked(before, after)));
                Thread.sleep(SPACING_MILLIS);
                before = host.read();
                long quietStart = PauseProbe.now();
                Thread.sleep(Math.max(1, window.length() / 1_000_000));
                after = host.read();
                quietWindows.add(new Timed(new PauseProbe.Window(quietStart, quietStart + window.length()), 0,
                        noise(before, after), HostNoise.blocked(before, after)));
                Thread.sleep(SPACING_MILLIS);
                if (guest.isDead()) {
                    throw new AssertionError(c.label() + ": the guest died at swap " + (i + 1) + ": "
                            + guest.deadReason());
                }
            }
            console = run.output();
        }
        List<PauseProbe.Gap> gaps = LinuxPauseProbe.onHostClock(PauseProbe.gaps(console), guestClockOffset);
        List<Swap> swaps = new ArrayList<>();
        for (int i = 0; i < swapWindows.size(); i++) {
            Timed s = swapWindows.get(i);
            Timed q = quietWindows.get(i);
            swaps.add(new Swap(s.window(), s.call(), PauseProbe.longestIn(gaps, s.window()), s.noise(), s.blocked(),
                    PauseProbe.longestIn(gaps, q.window()), q.noise(), PauseProbe.longestGapIn(gaps, s.window())));
        }
        return new Row(c.label(), swaps);
    }

    private static long noise(HostNoise.Reading before, HostNoise.Reading after) {
        return HostNoise.cpuWait(before, after) + HostNoise.stolen(before, after) + HostNoise.collecting(before, after);
    }

    private static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%nGuest pause per swap (ms), two alternating copies of each component's"
                + " bundle, under %s; load average %s on %d cores%n", LINUX ? "the Linux 2.6.24 guest" : "the test kernel",
                loadAverage(), Runtime.getRuntime().availableProcessors()));
        b.append(String.format(Locale.ROOT, "%-19s %5s %6s %6s %6s  %8s %8s  %6s %8s %9s  %7s  %8s %8s%n",
                "component", "swaps", "median", "p99", "max", "base med", "base p99", "beyond", "base bey",
                "noise p99", "blocked", "call med", "call p99"));
        for (Row r : rows) {
            long[] pauses = r.of(Swap::pause);
            long[] base = r.of(Swap::basePause);
            long[] calls = r.of(Swap::call);
            b.append(String.format(Locale.ROOT, "%-19s %5d %6s %6s %6s  %8s %8s  %6s %8s %9s  %7s  %8s %8s%n",
                    r.component(), r.swaps().size(), pause(percentile(pauses, 50)), pause(percentile(pauses, 99)),
                    pause(percentile(pauses, 100)), pause(percentile(base, 50)), pause(percentile(base, 99)),
                    pause(percentile(r.of(Swap::pauseBeyondNoise), 99)),
                    pause(percentile(r.of(Swap::basePauseBeyondNoise), 99)), ms(percentile(r.of(Swap::noise), 99)),
                    ms(percentile(r.of(Swap::blocked), 100)),
                    ms(percentile(calls, 50)), ms(percentile(calls, 99))));
        }
        b.append(String.format(Locale.ROOT,
                "pause: the longest time the guest stood still during a swap, as the guest itself measured it%n"
                + "  (test kernel mode=pauseprobe: a pure CPU guest, no disk, reading the host's wall clock after a%n"
                + "  hypercall every few microseconds; gaps under %.0f ms are not reported and show as <%.0f). Under%n"
                + "  Linux: guest/programs/clockprobe, Linux's only process, reading clock_gettime after a page fault%n"
                + "  (an exit to the host, which writes the clock), on the host's clock by LinuxPauseProbe. A swap's%n"
                + "  window runs from start() of the new copy to %d ms after stop() of the old returned.%n"
                + "base: the same over an equally long window without a swap, %d ms later (host noise).%n"
                + "noise: in the window, the guest thread's wait for a CPU (schedstat) + time the hypervisor%n"
                + "  stole from this VM + collector pauses. beyond (base bey): p99 of the pause minus the noise%n"
                + "  of its window, the part of a swap's (baseline's) pause that the machine does not explain.%n"
                + "blocked: the most time the guest's thread spent blocked or waiting (a lock, a condition)%n"
                + "  in one swap's window (ThreadMXBean, 1 ms steps): what a swap makes the guest wait for,%n"
                + "  whatever the load. call: start() plus stop() on the swapping thread (not a pause).%n",
                THRESHOLD_MICROS / 1e3, THRESHOLD_MICROS / 1e3, SETTLE_MILLIS, SPACING_MILLIS));
        return b.toString();
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** Milliseconds, or "?" for a figure we could not read. */
    private static String ms(long nanos) {
        return nanos < 0 ? "?" : String.format(Locale.ROOT, "%.2f", nanos / 1e6);
    }

    private static String pause(long nanos) {
        return nanos < 0 ? String.format(Locale.ROOT, "<%.0f", THRESHOLD_MICROS / 1e3)
                : String.format(Locale.ROOT, "%.2f", nanos / 1e6);
    }

    /** Nearest-rank percentile; -1 (under the threshold) sorts lowest. */
    private static long percentile(long[] values, int p) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }
}
