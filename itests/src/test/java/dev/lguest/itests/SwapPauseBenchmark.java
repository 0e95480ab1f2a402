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
 * is replaced. Not a test (its name does not end in IT, so `verify` leaves it out) and
 * nothing is asserted: it prints a table, and writes it to target/swap-pause.txt. Run it
 * with benchmarks/swap-benchmark.
 *
 * For each component a guest runs the test kernel's endless virtio block
 * write-and-verify (mode=blockcheck blockcheck=0: a NOTIFY exit per request, and no
 * idle sleeps, which the self-test has and which would hide short pauses) while its
 * bundle is swapped {@value #SWAPS} times by alternating two installed copies. A
 * second thread samples the guest's instruction count in a tight loop and notes the
 * moment of every change. A swap's pause is the longest time the count stood still
 * across the swap (from just before start() of the new copy to just after stop() of
 * the old one returned). The same measure over an equally long stretch with no swap,
 * 20 ms later, is the baseline: the guest's own longest gaps (timer sleeps, exits).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class SwapPauseBenchmark {
    private static final int SWAPS = Integer.getInteger("lguest.swap.count", 50);
    /** Far longer than the swaps take; the guest is stopped once they are done. */
    private static final List<String> WORKLOAD = List.of("mode=blockcheck", "blockcheck=0");
    private static final long SETTLE_NANOS = 20_000_000;

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    /** Moments (System.nanoTime) at which the guest's instruction count was seen to change. */
    private static final class ProgressSampler implements Runnable {
        private final Guest guest;
        private final long[] changes = new long[1 << 23];
        private volatile int count;
        private volatile boolean stopped;

        ProgressSampler(Guest guest) {
            this.guest = guest;
        }

        @Override
        public void run() {
            long last = guest.statistics.instructions();
            int n = 0;
            while (!stopped && n < changes.length) {
                long now = guest.statistics.instructions();
                if (now != last) {
                    changes[n] = System.nanoTime();
                    count = ++n;
                    last = now;
                }
                Thread.onSpinWait();
            }
        }

        /** The longest stretch without progress that overlaps [from, to]. */
        long longestGap(long from, long to) {
            int n = count;
            // The last change at or before 'from', then every change up to the first after 'to'.
            int i = Arrays.binarySearch(changes, 0, n, from);
            int start = i >= 0 ? i : Math.max(0, -i - 2);
            long longest = 0;
            for (int k = start; k + 1 < n; k++) {
                longest = Math.max(longest, changes[k + 1] - changes[k]);
                if (changes[k + 1] > to) {
                    break;
                }
            }
            return longest;
        }
    }

    private record Row(String component, int swaps, long[] pauses, long[] calls, long[] baseline) {
    }

    @Test
    public void swapPauses() throws Exception {
        List<Row> rows = new ArrayList<>();
        for (SwapKit.Component c : SwapKit.COMPONENTS) {
            rows.add(measure(c));
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
        long[] pauses = new long[SWAPS];
        long[] calls = new long[SWAPS];
        long[] baseline = new long[SWAPS];
        try (SwapKit.Alternation copies = new SwapKit.Alternation(context, c.bundle());
             SwapKit.Run run = SwapKit.boot(launcher, WORKLOAD)) {
            Guest guest = run.awaitGuest();
            run.awaitOutput("# blockcheck pass 1 ", Duration.ofSeconds(60));
            ProgressSampler sampler = new ProgressSampler(guest);
            Thread thread = new Thread(sampler, "swap-pause-sampler");
            thread.setDaemon(true);
            thread.start();
            Thread.sleep(50);
            for (int i = 0; i < SWAPS; i++) {
                long start = System.nanoTime();
                copies.swap();
                long end = System.nanoTime();
                Thread.sleep(SETTLE_NANOS / 1_000_000);
                long quiet = System.nanoTime();
                Thread.sleep(SETTLE_NANOS / 1_000_000 + (end - start) / 1_000_000 + 1);
                pauses[i] = sampler.longestGap(start, end);
                calls[i] = end - start;
                baseline[i] = sampler.longestGap(quiet, quiet + (end - start));
                if (guest.isDead()) {
                    throw new AssertionError(c.label() + ": the guest died at swap " + (i + 1) + ": "
                            + guest.deadReason());
                }
            }
            sampler.stopped = true;
            thread.join();
        }
        return new Row(c.label(), SWAPS, pauses, calls, baseline);
    }

    private static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%nGuest pause per swap (ms), %d swaps per component, two alternating copies%n",
                rows.isEmpty() ? 0 : rows.get(0).swaps()));
        b.append(String.format(Locale.ROOT, "%-20s %8s %8s %8s   %10s %10s   %13s%n",
                "component", "median", "p99", "max", "swap call", "call p99", "baseline p99"));
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "%-20s %8.2f %8.2f %8.2f   %10.2f %10.2f   %13.2f%n",
                    r.component(), ms(percentile(r.pauses(), 50)), ms(percentile(r.pauses(), 99)),
                    ms(percentile(r.pauses(), 100)), ms(percentile(r.calls(), 50)), ms(percentile(r.calls(), 99)),
                    ms(percentile(r.baseline(), 99))));
        }
        b.append("pause: the longest time the guest's instruction count stood still across a swap;\n"
                + "swap call: start() of the new copy plus stop() of the old; baseline: the same measure\n"
                + "over an equally long stretch without a swap.\n");
        return b.toString();
    }

    /** Nearest-rank percentile. */
    private static long percentile(long[] values, int p) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }
}
