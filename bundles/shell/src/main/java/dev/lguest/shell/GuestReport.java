package dev.lguest.shell;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.GuestStatistics;
import dev.lguest.api.hypercalls.Hypercall;

import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The text of `lguest:list` and `lguest:stats`: one line per guest, plain columns,
 * so it reads well in a terminal and greps well in a log.
 */
final class GuestReport {
    private GuestReport() {
    }

    static String list(List<Guest> guests) {
        if (guests.isEmpty()) {
            return "no guests";
        }
        StringBuilder out = new StringBuilder(String.format("%-5s %-8s %-14s %15s  %s%n",
                "GUEST", "STATE", "CPU", "INSTRUCTIONS", "EXITS"));
        for (Guest g : guests) {
            out.append(String.format("%-5d %-8s %-14s %15d  %s%n", g.id(), state(g), cpuName(g),
                    g.statistics.instructions(), counts(g.statistics.exitCounts())));
        }
        return out.toString().stripTrailing();
    }

    static String stats(List<Guest> guests) {
        if (guests.isEmpty()) {
            return "no guests";
        }
        StringBuilder out = new StringBuilder();
        for (Guest g : guests) {
            GuestStatistics s = g.statistics;
            out.append(String.format("guest %d: %d instructions%n", g.id(), s.instructions()));
            out.append("  exits:      ").append(counts(s.exitCounts())).append('\n');
            StringJoiner calls = new StringJoiner(" ");
            for (Hypercall h : Hypercall.values()) {
                long n = s.hypercalls(h.number);
                if (n != 0) {
                    calls.add(h.name() + "=" + n);
                }
            }
            out.append("  hypercalls: ").append(calls.length() == 0 ? "none" : calls.toString()).append('\n');
        }
        return out.toString().stripTrailing();
    }

    private static String state(Guest g) {
        if (g.isDead()) {
            return "dead";
        }
        return g.halted ? "halted" : "running";
    }

    private static String cpuName(Guest g) {
        Object maker = g.cpuMaker;
        return maker instanceof dev.lguest.api.cpu.X86CpuFactory f ? f.name() : "-";
    }

    private static String counts(Map<String, Long> counts) {
        if (counts.isEmpty()) {
            return "none";
        }
        StringJoiner j = new StringJoiner(" ");
        counts.forEach((k, v) -> j.add(k.toLowerCase() + "=" + v));
        return j.toString();
    }
}
