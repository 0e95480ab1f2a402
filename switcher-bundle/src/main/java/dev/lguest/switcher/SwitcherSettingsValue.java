package dev.lguest.switcher;

import dev.lguest.api.guest.GuestStatistics.Exit;

import java.util.Locale;

/**
 * The switcher's configuration as plain values, checked once when it arrives: what a
 * guest's run loop reads on its hot path (a slice budget, a clock floor in nanoseconds,
 * and the exits to log as a bit set, so that "log nothing" is one test of zero).
 */
record SwitcherSettingsValue(long sliceInstructions, long clockMinPeriodNanos, int loggedExits) {
    static final SwitcherSettingsValue DEFAULTS =
            new SwitcherSettingsValue(RunLoop.SLICE, 0, 0);

    /** From ConfigAdmin's values; out-of-range numbers are brought into range, unknown exit names ignored. */
    static SwitcherSettingsValue of(SwitcherConfig config) {
        return of(config.slice_instructions(), config.clock_min_period_us(), config.log_exits());
    }

    static SwitcherSettingsValue of(long sliceInstructions, long clockMinPeriodMicros, String[] logExits) {
        long slice = Math.clamp(sliceInstructions, RunLoop.MIN_SLICE, Long.MAX_VALUE / 2);
        long floor = Math.clamp(clockMinPeriodMicros, 0, 1_000_000_000L) * 1000;
        int mask = 0;
        for (String name : logExits == null ? new String[0] : logExits) {
            String n = name.trim().toUpperCase(Locale.ROOT);
            if (n.equals("ALL")) {
                mask = (1 << Exit.values().length) - 1;
            } else {
                for (Exit e : Exit.values()) {
                    if (e.name().equals(n)) {
                        mask |= 1 << e.ordinal();
                    }
                }
            }
        }
        return new SwitcherSettingsValue(slice, floor, mask);
    }

    boolean logs(Exit exit) {
        return (loggedExits & (1 << exit.ordinal())) != 0;
    }
}
