package dev.lguest.api.config;

/**
 * The names under which the switcher is configured (PID {@link #PID}), for tools and
 * tests that set them through ConfigAdmin. The switcher's Metatype description says
 * what each means; a change applies to guests set up after it.
 */
public final class SwitcherSettings {
    /** The configuration PID of the switcher. */
    public static final String PID = "dev.lguest.switcher";
    /** Guest instructions per slice (long): how long a guest runs before the loop looks around. */
    public static final String SLICE_INSTRUCTIONS = "slice.instructions";
    /** The shortest period between two timer interrupts of one guest, in microseconds (long, 0 = none). */
    public static final String CLOCK_MIN_PERIOD_MICROS = "clock.min.period.us";
    /** Exit reasons to log (String[]: GuestStatistics.Exit names, or ALL); empty logs none. */
    public static final String LOG_EXITS = "log.exits";

    private SwitcherSettings() {
    }
}
