package dev.lguest.itests;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
import dev.lguest.api.launcher.GuestSession;
import dev.lguest.exam.GuestRun;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;

/**
 * Booting the demo guest from inside the framework, and what it should print. New
 * tests may use the exam kit's GuestRun instead, which also types at the console,
 * waits for lines and reads the exit statistics.
 */
final class Guests {
    static final String HELLO = "Hello from the guest";
    /**
     * Demo rounds that take about a second and a half on a quiet machine (the
     * translator runs 12 million in under 0.2 s): long enough that a swap or a save
     * lands while the guest computes, which assertStillComputing checks, not assumes.
     */
    static final int LONG_SPIN = 200_000_000;

    private Guests() {
    }

    /** The demo guest image, as the Launcher bundle carries it (the exam kit reads it). */
    static byte[] demoGuest(GuestLauncher launcher) throws IOException {
        return GuestRun.demoGuest(launcher);
    }

    /** A guest image built by the guest module (guest/<dir>), by file name. */
    static byte[] image(String name) throws IOException {
        return java.nio.file.Files.readAllBytes(java.nio.file.Path.of(System.getProperty("lguest.guests"), name));
    }

    /** Boots any guest image with its console captured. */
    static Run boot(GuestLauncher launcher, byte[] image, int memoryMb, List<String> args) throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        GuestSession session = launcher.boot(new BootSpec(memoryMb, null, image, null, null, args, false), console);
        return new Run(session, console);
    }

    /** A running guest with its console captured. */
    record Run(GuestSession session, ByteArrayOutputStream console) {
        String output() {
            return console.toString(StandardCharsets.ISO_8859_1);
        }

        /** Waits until the output is as {@code done} wants, the guest ends, or {@code timeout} passes. */
        void awaitOutputOrEnd(Predicate<String> done, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!done.test(output()) && session.await(Duration.ZERO).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
        }

        GuestOutcome awaitEnd(Duration timeout) throws InterruptedException {
            return session.await(timeout).orElseThrow(() -> new AssertionError(
                    "the guest did not finish in " + timeout + "; it printed: " + output()));
        }
    }

    static Run bootDemo(GuestLauncher launcher, List<String> args) throws Exception {
        return boot(launcher, demoGuest(launcher), 16, args);
    }

    /** The demo guest's checksum(rounds), computed here the way guest/demo/main.c does. */
    static int checksum(int rounds) {
        int[] table = new int[256];
        for (int i = 0; i < 256; i++) {
            table[i] = i * 0x9e3779b9;
        }
        int x = 0x12345678;
        int sum = 0;
        for (int i = 0; i < rounds; i++) {
            x = x * 1103515245 + 12345;
            int slot = (x >>> 16) & 0xff;
            table[slot] ^= x;
            sum = Integer.rotateLeft(sum, 5) ^ table[slot] ^ i;
        }
        return sum;
    }

    /**
     * Waits for a demo guest started with "forever" (it never ends on its own) to print
     * its checksum line, and fails if it ended instead (a swap or attach took it down)
     * or printed anything but its hello and that checksum. The guest is still running
     * afterwards: the caller stops it.
     */
    static void awaitChecksumStillRunning(Run run, int rounds, Duration timeout) throws InterruptedException {
        String expected = String.format("%s%nchecksum 0x%08x%n", HELLO, checksum(rounds));
        run.awaitOutputOrEnd(expected::equals, timeout);
        run.session().await(Duration.ZERO).ifPresent(outcome -> {
            throw new AssertionError("the guest ended (" + outcome.reason() + "); it printed: " + run.output());
        });
        if (!run.output().equals(expected)) {
            throw new AssertionError("expected within " + timeout + ": " + expected + "; the guest printed: "
                    + run.output());
        }
    }

    /**
     * Whether the guest's instruction count grows past {@code since} within 30 s: it
     * computes (the count is taken at the run loop's exits, so it moves in steps).
     */
    static boolean computesPast(Guest guest, long since) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (guest.statistics.instructions() <= since && !guest.isDead() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        return guest.statistics.instructions() > since;
    }

    /**
     * Fails when the demo guest has printed its checksum already: what the test did to
     * it ({@code what}: "swap", "save") came after it had finished computing.
     */
    static void assertStillComputing(String output, String what) {
        if (output.contains("checksum 0x")) {
            throw new AssertionError("the guest finished before the " + what + ": give it more rounds: " + output);
        }
    }
}
