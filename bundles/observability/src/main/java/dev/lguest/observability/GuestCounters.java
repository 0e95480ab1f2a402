package dev.lguest.observability;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.GuestStatistics;
import dev.lguest.api.guest.GuestStatistics.Exit;
import dev.lguest.api.hypercalls.Hypercall;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Reading a guest's GuestStatistics as named counters: the one place that turns exit
 * ordinals and hypercall numbers into names, for the MBeans and the JFR statistics.
 */
final class GuestCounters {
    private GuestCounters() {
    }

    /** Every exit reason with its count, in the enum's order. */
    static Map<String, Long> exitCounts(GuestStatistics statistics) {
        Map<String, Long> counts = new LinkedHashMap<>();
        for (Exit e : Exit.values()) {
            counts.put(e.name(), statistics.exits(e));
        }
        return counts;
    }

    static long totalExits(GuestStatistics statistics) {
        long total = 0;
        for (Exit e : Exit.values()) {
            total += statistics.exits(e);
        }
        return total;
    }

    /** The hypercalls made at least once, by name, in number order. */
    static Map<String, Long> hypercallCounts(GuestStatistics statistics) {
        Map<String, Long> counts = new LinkedHashMap<>();
        for (Hypercall h : Hypercall.values()) {
            long n = statistics.hypercalls(h.number);
            if (n != 0) {
                counts.put(h.name(), n);
            }
        }
        return counts;
    }

    /** Counters summed over guests. */
    static Map<String, Long> sum(Collection<Guest> guests, java.util.function.Function<GuestStatistics,
            Map<String, Long>> counters) {
        Map<String, Long> total = new LinkedHashMap<>();
        for (Guest g : guests) {
            counters.apply(g.statistics).forEach((k, v) -> total.merge(k, v, Long::sum));
        }
        return total;
    }

    /** "A=1 B=2" of the non-zero counters: a compact field for a JFR event. */
    static String compact(Map<String, Long> counts) {
        return counts.entrySet().stream().filter(e -> e.getValue() != 0)
                .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(" "));
    }
}
