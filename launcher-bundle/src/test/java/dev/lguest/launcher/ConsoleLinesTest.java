package dev.lguest.launcher;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The guest's console on standard output and --verbose on standard error, as one
 * terminal shows them: both streams write into one screen, and a line of ours never
 * lands inside a line of the guest's.
 */
class ConsoleLinesTest {
    /** One terminal behind two streams, in the order the bytes arrived. */
    private final ByteArrayOutputStream screen = new ByteArrayOutputStream();
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    private final ConsoleLines lines = new ConsoleLines(tee(stdout), new PrintStream(tee(stderr), true));

    private OutputStream tee(ByteArrayOutputStream own) {
        return new OutputStream() {
            @Override
            public void write(int b) {
                own.write(b);
                screen.write(b);
            }
        };
    }

    private void guest(String text) {
        lines.console().print(text);
        lines.console().flush();
    }

    private static String text(ByteArrayOutputStream bytes) {
        return bytes.toString(StandardCharsets.ISO_8859_1);
    }

    @Test
    void ourLinesGoToStandardErrorOnly() {
        lines.diagnostic("device 0: console");
        guest("Linux version 2.6.24\n");
        assertEquals("Linux version 2.6.24\n", text(stdout));
        assertEquals("device 0: console\n", text(stderr));
    }

    @Test
    void aLineOfOursWaitsForTheGuestsLineToEnd() {
        // 2.6.24's hvc driver: 16 bytes per notification, a Notify line before each.
        lines.diagnostic("Notify on address 0x4003000, output to console");
        guest("Freeing unused k");
        lines.diagnostic("Notify on address 0x4003000, output to console");
        guest("ernel memory: 11");
        lines.diagnostic("Notify on address 0x4003000, output to console");
        guest("2k freed\n/ # ");
        assertEquals("""
                Notify on address 0x4003000, output to console
                Freeing unused kernel memory: 112k freed
                Notify on address 0x4003000, output to console
                Notify on address 0x4003000, output to console
                / #\s""", text(screen));
        assertEquals("Freeing unused kernel memory: 112k freed\n/ # ", text(stdout));
    }

    @Test
    void whatWaitsGoesOutWhenTheGuestEnds() {
        guest("Kernel panic - not syncing: Attempted to kill init!");
        lines.diagnostic("Notify on address 0x4003000, output to console");
        assertEquals("", text(stderr));
        lines.finish();
        assertEquals("Notify on address 0x4003000, output to console\n", text(stderr));
    }

    @Test
    void aGuestThatNeverEndsItsLineCannotMakeUsKeepEverything() {
        guest("no newline, ever");
        for (int i = 0; i < ConsoleLines.HELD_MAX + 5; i++) {
            lines.diagnostic("line " + i);
        }
        guest("\n");
        String[] said = text(stderr).split("\n");
        assertEquals(ConsoleLines.HELD_MAX + 1, said.length);
        assertEquals("line 0", said[0]);
        assertEquals("line " + (ConsoleLines.HELD_MAX - 1), said[ConsoleLines.HELD_MAX - 1]);
        assertEquals("(5 more --verbose lines dropped while the guest's line was unfinished)",
                said[ConsoleLines.HELD_MAX]);
    }

    @Test
    void theGuestsBytesPassUnchanged() {
        byte[] all = new byte[256];
        for (int i = 0; i < all.length; i++) {
            all[i] = (byte) i;
        }
        lines.console().write(all, 0, all.length);
        lines.diagnostic("between");
        lines.console().write(all, 0, all.length);
        byte[] twice = new byte[512];
        System.arraycopy(all, 0, twice, 0, 256);
        System.arraycopy(all, 0, twice, 256, 256);
        assertEquals(new String(twice, StandardCharsets.ISO_8859_1), text(stdout));
        assertEquals("between\n", text(stderr));
    }
}
