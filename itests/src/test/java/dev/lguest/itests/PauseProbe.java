package dev.lguest.itests;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The host's half of the test kernel's pause probe (mode=pauseprobe, pauseprobe.c).
 *
 * The guest reads the wall clock the switcher writes into lguest_data at every entry
 * and reports each gap between two consecutive reads longer than its threshold as
 * "# pause S N G": G microseconds that ended at S seconds N nanoseconds of the epoch.
 * That clock is java.time.Instant, so a window the host timed with {@link #now()} can
 * be matched against the guest's gaps without any conversion: a gap [end - G, end]
 * that overlaps the window is a stop the guest lived through during it.
 */
final class PauseProbe {
    /** The probe's line for one gap. */
    private static final Pattern GAP = Pattern.compile("^# pause (\\d+) (\\d+) (\\d+)$", Pattern.MULTILINE);

    /** One stretch in which the guest did not run: it ended at {@code end} (epoch nanos). */
    record Gap(long end, long nanos) {
        long start() {
            return end - nanos;
        }
    }

    /** A stretch of host time, epoch nanoseconds, from {@link #now()}. */
    record Window(long start, long end) {
        long length() {
            return end - start;
        }
    }

    private PauseProbe() {
    }

    /** The guest's arguments: probe gaps over {@code thresholdMicros}, until stopped. */
    static List<String> arguments(long thresholdMicros) {
        return List.of("mode=pauseprobe", "pause-threshold-us=" + thresholdMicros);
    }

    /** The wall clock the switcher writes into lguest_data, in epoch nanoseconds. */
    static long now() {
        Instant i = Instant.now();
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }

    /** Every gap the guest reported on its console, in the order it reported them. */
    static List<Gap> gaps(String console) {
        List<Gap> gaps = new ArrayList<>();
        Matcher m = GAP.matcher(console);
        while (m.find()) {
            long end = Long.parseLong(m.group(1)) * 1_000_000_000L + Long.parseLong(m.group(2));
            gaps.add(new Gap(end, Long.parseLong(m.group(3)) * 1_000L));
        }
        return gaps;
    }

    /**
     * The longest reported gap that overlaps {@code window}, in nanoseconds; -1 if none
     * did, which means every stop in it was at most the probe's threshold.
     */
    static long longestIn(List<Gap> gaps, Window window) {
        Gap longest = longestGapIn(gaps, window);
        return longest == null ? -1 : longest.nanos();
    }

    /** The longest reported gap that overlaps {@code window}, or null. */
    static Gap longestGapIn(List<Gap> gaps, Window window) {
        Gap longest = null;
        for (Gap g : gaps) {
            if (g.start() < window.end() && g.end() > window.start() && (longest == null || g.nanos() > longest.nanos())) {
                longest = g;
            }
        }
        return longest;
    }
}
