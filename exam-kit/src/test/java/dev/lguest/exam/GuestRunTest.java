/*
 * GuestRun against a stand-in Launcher whose "guest" is a thread printing lines and
 * echoing what is typed: waiting for a line, typing, the outcome and the failures,
 * which must carry what the guest printed.
 */
package dev.lguest.exam;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
import dev.lguest.api.launcher.GuestSession;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GuestRunTest {
    private static final Duration SHORT = Duration.ofSeconds(5);

    /** A Launcher whose guest says hello, echoes each typed line, and powers off on "bye". */
    private static final GuestLauncher ECHO = (spec, console, input) -> {
        CompletableFuture<GuestOutcome> outcome = new CompletableFuture<>();
        Thread guest = new Thread(() -> {
            PrintStream out = new PrintStream(console, true, StandardCharsets.ISO_8859_1);
            out.print("hello\n");
            out.print("partial");
            try (BufferedReader keyboard = new BufferedReader(new InputStreamReader(input, StandardCharsets.UTF_8))) {
                out.print("\n");
                for (String line = keyboard.readLine(); line != null; line = keyboard.readLine()) {
                    if (line.equals("bye")) {
                        outcome.complete(new GuestOutcome(true, "Power down"));
                        return;
                    }
                    out.print("echo " + line + "\n");
                }
                outcome.complete(new GuestOutcome(false, "console closed"));
            } catch (Exception e) {
                outcome.complete(new GuestOutcome(false, e.toString()));
            }
        });
        guest.setDaemon(true);
        guest.start();
        return new FakeSession(outcome);
    };

    private record FakeSession(CompletableFuture<GuestOutcome> outcome) implements GuestSession {
        @Override
        public Optional<Guest> guest() {
            return Optional.empty();
        }

        @Override
        public Optional<GuestOutcome> await(Duration timeout) throws InterruptedException {
            try {
                return Optional.of(outcome.get(timeout.toNanos(), TimeUnit.NANOSECONDS));
            } catch (TimeoutException e) {
                return Optional.empty();
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void stop() {
            outcome.complete(new GuestOutcome(false, "stopped by the Launcher"));
        }
    }

    private static GuestRun boot() throws Exception {
        return GuestRun.boot(ECHO, new byte[] {1}, 16, List.of());
    }

    @Test
    void typedLinesComeBackAndTheOutcomeIsRead() throws Exception {
        try (GuestRun run = boot()) {
            assertEquals("hello", run.awaitLine("hell", SHORT));
            run.type("one\n");
            assertEquals("echo one", run.awaitLine("echo", SHORT));
            run.type("bye\n");
            assertEquals("Power down", run.exitReason(SHORT));
            assertEquals(List.of("hello", "partial", "echo one"), run.lines());
        }
    }

    @Test
    void aLineThatNeverComesFailsWithTheOutput() throws Exception {
        try (GuestRun run = boot()) {
            AssertionError e = assertThrows(AssertionError.class,
                    () -> run.awaitLine("never", Duration.ofMillis(100)));
            assertTrue(e.getMessage().contains("hello"), e.getMessage());
        }
    }

    @Test
    void aGuestEndingWithoutTheLineFailsAtOnceWithItsReason() throws Exception {
        try (GuestRun run = boot()) {
            run.awaitLine("hello", SHORT);
            run.endInput();
            AssertionError e = assertThrows(AssertionError.class, () -> run.awaitLine("never", Duration.ofMinutes(1)));
            assertTrue(e.getMessage().contains("console closed"), e.getMessage());
        }
    }

    @Test
    void closingStopsAGuestStillRunning() throws Exception {
        GuestRun run = boot();
        run.close();
        assertEquals("stopped by the Launcher", run.exitReason(SHORT));
    }

    @Test
    void aBootSpecIsPassedThrough() throws Exception {
        BootSpec[] seen = new BootSpec[1];
        GuestLauncher recording = (spec, console, input) -> {
            seen[0] = spec;
            return new FakeSession(CompletableFuture.completedFuture(new GuestOutcome(true, "Power down")));
        };
        GuestRun.boot(recording, new byte[] {1}, 24, List.of("spin=5")).close();
        assertEquals(24, seen[0].memoryMegabytes());
        assertEquals("spin=5", seen[0].commandLine());
    }

    /** Keeps the compiler honest about the OutputStream the Launcher is handed. */
    @Test
    void theConsoleIsAnOutputStream() throws Exception {
        OutputStream[] seen = new OutputStream[1];
        GuestLauncher recording = (spec, console, input) -> {
            seen[0] = console;
            return new FakeSession(CompletableFuture.completedFuture(new GuestOutcome(true, "Power down")));
        };
        GuestRun run = GuestRun.boot(recording, new byte[] {1}, 16, List.of());
        seen[0].write("x\n".getBytes(StandardCharsets.ISO_8859_1));
        assertEquals(List.of("x"), run.lines());
    }
}
