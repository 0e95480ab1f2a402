package dev.lguest.virtio.console;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * lguest.c's triple ^C, on a clock the test moves: three lone ^C with the third
 * within the window of the first end the guest; anything else in between, or a third
 * that comes too late, starts the count from nothing.
 */
class ControlCAbortTest {
    private static final byte[] CONTROL_C = {ControlCAbort.CONTROL_C};
    private static final long MS = 1_000_000L;
    private long now = 1_000 * MS;
    private final ControlCAbort abort = new ControlCAbort(() -> now);

    private boolean controlCAt(long millisAfterStart) {
        now = 1_000 * MS + millisAfterStart * MS;
        return abort.seen(CONTROL_C);
    }

    @Test
    void threeWithinASecondEndTheGuest() {
        assertFalse(controlCAt(0));
        assertFalse(controlCAt(300));
        assertTrue(controlCAt(900));
    }

    @Test
    void theThirdMayComeAsLateAsTheWindow() {
        assertFalse(controlCAt(0));
        assertFalse(controlCAt(1_000));
        assertTrue(controlCAt(ControlCAbort.WINDOW_NANOS / MS));
    }

    @Test
    void aLateThirdStartsTheCountFromNothing() {
        assertFalse(controlCAt(0));
        assertFalse(controlCAt(1_500));
        assertFalse(controlCAt(2_500));
        assertEquals(0, abort.count());
        // The late one was not a new first: two more are not enough.
        assertFalse(controlCAt(2_600));
        assertFalse(controlCAt(2_700));
        assertTrue(controlCAt(2_800));
    }

    @Test
    void anyOtherInputStartsTheCountAgain() {
        assertFalse(controlCAt(0));
        assertFalse(controlCAt(100));
        assertFalse(abort.seen(new byte[] {'a'}));
        assertFalse(controlCAt(200));
        assertFalse(controlCAt(300));
        assertTrue(controlCAt(400));
    }

    @Test
    void aControlCReadWithOtherBytesIsNotALoneOne() {
        assertFalse(controlCAt(0));
        assertFalse(controlCAt(100));
        assertFalse(abort.seen(new byte[] {ControlCAbort.CONTROL_C, ControlCAbort.CONTROL_C}));
        assertEquals(0, abort.count());
    }
}
