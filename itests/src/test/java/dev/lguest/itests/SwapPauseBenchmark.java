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
 * {@value #SETTLE_MILLIS} ms after the swap's: the host's own noise (other processes on
 * the core, the JIT, the collector), which no swap can do better than.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class SwapPauseBenchmark {
    private static final int SWAPS = Integer.getInteger("lguest.swap.count", 50);
    /** Gaps shorter than this are not reported: a pause under it shows as "<1". */
    static final long THRESHOLD_MICROS = 1_000;
    private static final long SETTLE_MILLIS = 20;
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

    /** One component's figures, in nanoseconds; -1 is a pause under the probe's threshold. */
    private record Row(String component, int swaps, long[] pauses, long[] calls, long[] baseline) {
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
        Path out = Path.of("target", "swap-pause.txt");
        try {
            Files.createDirectories(out.getParent());
            Files.writeString(out, table);
        } catch (IOException e) {
            System.out.println("(could not write " + out.toAbsolutePath() + ": " + e.getMessage() + ")");
        }
    }

    private Row measure(SwapKit.Component c) throws Exception {
        List<PauseProbe.Window> swaps = new ArrayList<>();
        List<PauseProbe.Window> quiet = new ArrayList<>();
        long[] calls = new long[SWAPS];
        String console;
        try (SwapKit.Alternation copies = new SwapKit.Alternation(context, c.bundle());
             SwapKit.Run run = SwapKit.boot(launcher, PauseProbe.arguments(THRESHOLD_MICROS))) {
            Guest guest = run.awaitGuest();
            run.awaitOutput("# pauseprobe ready", Duration.ofSeconds(60));
            Thread.sleep(WARM_UP_MILLIS);
            for (int i = 0; i < SWAPS; i++) {
                long start = PauseProbe.now();
                long callStart = System.nanoTime();
                copies.swap();
                calls[i] = System.nanoTime() - callStart;
                Thread.sleep(SETTLE_MILLIS);
                PauseProbe.Window window = new PauseProbe.Window(start, PauseProbe.now());
                swaps.add(window);
                Thread.sleep(SETTLE_MILLIS);
                long quietStart = PauseProbe.now();
                Thread.sleep(Math.max(1, window.length() / 1_000_000));
                quiet.add(new PauseProbe.Window(quietStart, quietStart + window.length()));
                if (guest.isDead()) {
                    throw new AssertionError(c.label() + ": the guest died at swap " + (i + 1) + ": "
                            + guest.deadReason());
                }
            }
            // The last gap is reported once the guest reads the clock after it.
            Thread.sleep(SETTLE_MILLIS);
            console = run.output();
        }
        List<PauseProbe.Gap> gaps = PauseProbe.gaps(console);
        long[] pauses = swaps.stream().mapToLong(w -> PauseProbe.longestIn(gaps, w)).toArray();
        long[] baseline = quiet.stream().mapToLong(w -> PauseProbe.longestIn(gaps, w)).toArray();
        return new Row(c.label(), SWAPS, pauses, calls, baseline);
    }

    private static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%nGuest pause per swap (ms), %d swaps per component, two alternating copies;"
                + " load average %s%n", rows.isEmpty() ? 0 : rows.get(0).swaps(), loadAverage()));
        b.append(String.format(Locale.ROOT, "%-20s %6s %7s %7s %7s   %9s %9s   %9s %9s%n",
                "component", "swaps", "median", "p99", "max", "base med", "base p99", "call med", "call p99"));
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "%-20s %6d %7s %7s %7s   %9s %9s   %9s %9s%n",
                    r.component(), r.swaps(), pause(percentile(r.pauses(), 50)), pause(percentile(r.pauses(), 99)),
                    pause(percentile(r.pauses(), 100)), pause(percentile(r.baseline(), 50)),
                    pause(percentile(r.baseline(), 99)), pause(percentile(r.calls(), 50)),
                    pause(percentile(r.calls(), 99))));
        }
        b.append(String.format(Locale.ROOT,
                "pause: the longest time the guest stood still during a swap, measured by the guest itself%n"
                + "(test kernel mode=pauseprobe: a pure CPU guest, no disk, reading the host's wall clock at a%n"
                + "hypercall every few microseconds; gaps under %.0f ms are not reported and show as <%.0f).%n"
                + "base: the same over an equally long window without a swap (host noise); call: how long%n"
                + "start() of the new copy plus stop() of the old took on the swapping thread (not a pause).%n",
                THRESHOLD_MICROS / 1e3, THRESHOLD_MICROS / 1e3));
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
