package dev.lguest.launcher;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The process's age from Linux's own clock since boot, not from the whole-second boot time. */
class ProcessAgeTest {
    /** A java process's stat line: its start 1,267,978 ticks (12,679.78 s) after boot. */
    private static final String STAT = "29625 (java) S 29580 29580 4895 0 -1 4194304 127 0 0 0 5 1 0 0 20 0 19 0 "
            + "1267978 3133440 410 18446744073709551615 94653198757888";

    @Test
    void theAgeIsUptimeLessTheStart() {
        assertEquals(Optional.of(Duration.ofMillis(910)), ProcessAge.fromProc(STAT, "12680.69 25000.11\n"));
    }

    @Test
    void aCommandNameWithSpacesAndParenthesesIsSkippedWhole() {
        String odd = STAT.replace("(java)", "(a ) b (c)");
        assertEquals(Optional.of(Duration.ofMillis(220)), ProcessAge.fromProc(odd, "12680.00 1.00"));
    }

    @Test
    void whatDoesNotParseGivesNothing() {
        assertEquals(Optional.empty(), ProcessAge.fromProc("garbage", "12680.00"));
        assertEquals(Optional.empty(), ProcessAge.fromProc(STAT, "soon"));
        assertEquals(Optional.empty(), ProcessAge.fromProc(STAT, "1.00 2.00"), "a start after now");
    }

    @Test
    void thisProcessIsAFewSecondsOldAtMost() {
        // The JVM running this test started before it: its age is positive and not a day.
        Duration age = ProcessAge.now(Instant.now()).orElseThrow();
        assertTrue(!age.isNegative() && age.compareTo(Duration.ofDays(1)) < 0, age.toString());
    }
}
