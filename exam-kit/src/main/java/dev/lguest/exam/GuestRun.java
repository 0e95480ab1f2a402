/*
 * One guest booted by a test inside the framework: its console captured, its input
 * typed by the test, and how it ended.
 *
 *   GuestRun run = GuestRun.bootDemo(launcher, "spin=1000");
 *   run.awaitLine("Hello from the guest", Duration.ofSeconds(30));
 *   GuestOutcome end = run.awaitEnd(Duration.ofSeconds(60));
 *   long faults = run.statistics().exits(GuestStatistics.Exit.PAGE_FAULT);
 *
 * Snapshots: run.save(file) writes the guest to a file while it runs on (saveAndStop
 * ends it there), and GuestRun.restore(snapshots, file) continues a saved guest, here
 * or in another framework, with its console captured like a booted one's.
 *
 * The waits fail with an AssertionError that carries everything the guest printed,
 * since that is the first thing anyone asks when a guest test fails.
 */
package dev.lguest.exam;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.GuestStatistics;
import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
import dev.lguest.api.launcher.GuestSession;
import dev.lguest.api.snapshot.SnapshotException;
import dev.lguest.api.snapshot.Migrations;
import dev.lguest.api.snapshot.Snapshots;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.FrameworkUtil;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

public final class GuestRun implements AutoCloseable {
    /** Where the Launcher bundle carries the demo guest. */
    public static final String DEMO_GUEST = "guests/demo-guest.elf";
    /** What the demo guest prints first. */
    public static final String DEMO_HELLO = "Hello from the guest";
    private static final long POLL_MILLIS = 5;

    private final GuestSession session;
    private final ByteArrayOutputStream console;
    private final ConsoleInput input;

    private GuestRun(GuestSession session, ByteArrayOutputStream console, ConsoleInput input) {
        this.session = session;
        this.console = console;
        this.input = input;
    }

    // ---- booting ----

    /** Boots whatever {@code spec} says, with the console captured and input from {@link #type}. */
    public static GuestRun boot(GuestLauncher launcher, BootSpec spec) throws BootException {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        ConsoleInput input = new ConsoleInput();
        return new GuestRun(launcher.boot(spec, console, input), console, input);
    }

    /** Boots a kernel image held in memory. */
    public static GuestRun boot(GuestLauncher launcher, byte[] kernelImage, int memoryMegabytes, List<String> args)
            throws BootException {
        return boot(launcher, new BootSpec(memoryMegabytes, null, kernelImage, null, null, args, false));
    }

    /** Boots a kernel file (a vmlinux or a bzImage), as `lguest <mem> <file> args...` would. */
    public static GuestRun boot(GuestLauncher launcher, Path kernel, int memoryMegabytes, List<String> args)
            throws BootException {
        return boot(launcher, new BootSpec(memoryMegabytes, kernel, null, null, null, args, false));
    }

    /** Boots the demo guest the Launcher carries (16 MB), with kernel arguments such as "spin=1000". */
    public static GuestRun bootDemo(GuestLauncher launcher, String... args) throws BootException, IOException {
        return boot(launcher, demoGuest(launcher), 16, Arrays.asList(args));
    }

    /** The demo guest image, read from the bundle of the Launcher in use. */
    public static byte[] demoGuest(GuestLauncher launcher) throws IOException {
        Bundle launcherBundle = FrameworkUtil.getBundle(launcher.getClass());
        if (launcherBundle == null || launcherBundle.getEntry(DEMO_GUEST) == null) {
            throw new IOException("the Launcher in this build carries no " + DEMO_GUEST);
        }
        try (InputStream in = launcherBundle.getEntry(DEMO_GUEST).openStream()) {
            return in.readAllBytes();
        }
    }

    // ---- snapshots ----

    /** Continues the guest saved in {@code file}, its console captured and its input from {@link #type}. */
    public static GuestRun restore(Snapshots snapshots, Path file) throws SnapshotException {
        return restore(snapshots, file, null);
    }

    /** {@link #restore(Snapshots, Path)} with {@code disk} in place of the disk file the snapshot names. */
    public static GuestRun restore(Snapshots snapshots, Path file, Path disk) throws SnapshotException {
        return restore(snapshots, file, disk, List.of());
    }

    /** {@link #restore(Snapshots, Path, Path)} with the saved network card joining {@code networks} ("switch:lan0"). */
    public static GuestRun restore(Snapshots snapshots, Path file, Path disk, List<String> networks)
            throws SnapshotException {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        ConsoleInput input = new ConsoleInput();
        return new GuestRun(snapshots.restore(file, disk, networks, console, input), console, input);
    }

    /**
     * Waits on {@code server} for a guest migrating here ({@link #migrate} or
     * lguest:migrate elsewhere) and runs it here, its console captured and its input
     * from {@link #type}; returns once it runs.
     */
    public static GuestRun receive(Migrations migrations, java.net.ServerSocket server) throws SnapshotException {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        ConsoleInput input = new ConsoleInput();
        return new GuestRun(migrations.receive(server, null, console, input), console, input);
    }

    /** Saves the guest to {@code file} at an instruction boundary; it runs on. */
    public Snapshots.Saved save(Path file) throws SnapshotException {
        return snapshots().save(session, file, false);
    }

    /** Saves the guest to {@code file} and ends it there ("saved to FILE"): nothing it does after is lost. */
    public Snapshots.Saved saveAndStop(Path file) throws SnapshotException {
        return snapshots().save(session, file, true);
    }

    /**
     * Migrates the guest live to the Launcher waiting on {@code host:port} ({@code lguest
     * --incoming=PORT}); once it runs there this run ends ("migrated to HOST:PORT"). If the
     * migration breaks off, this throws and the guest runs on here.
     */
    public Migrations.Migrated migrate(String host, int port) throws SnapshotException {
        Bundle kit = FrameworkUtil.getBundle(GuestRun.class);
        BundleContext context = kit == null ? null : kit.getBundleContext();
        ServiceReference<Migrations> ref = context == null ? null : context.getServiceReference(Migrations.class);
        Migrations m = ref == null ? null : context.getService(ref);
        if (m == null) {
            throw new SnapshotException("this build's Launcher cannot migrate guests (no Migrations service)");
        }
        return m.migrate(session, host, port);
    }

    /** The Launcher's Snapshots service, found through the framework this kit runs in. */
    private static Snapshots snapshots() throws SnapshotException {
        Bundle kit = FrameworkUtil.getBundle(GuestRun.class);
        BundleContext context = kit == null ? null : kit.getBundleContext();
        ServiceReference<Snapshots> ref = context == null ? null : context.getServiceReference(Snapshots.class);
        Snapshots s = ref == null ? null : context.getService(ref);
        if (s == null) {
            throw new SnapshotException("this build's Launcher cannot save guests (no Snapshots service)");
        }
        return s;
    }

    // ---- the console ----

    /** Everything the guest printed so far. */
    public String output() {
        return console.toString(StandardCharsets.ISO_8859_1);
    }

    /** The complete lines printed so far (the line being written is left out). */
    public List<String> lines() {
        String out = output();
        int end = out.lastIndexOf('\n');
        return end < 0 ? List.of() : List.of(out.substring(0, end).split("\n", -1));
    }

    /** Types text at the guest's console (it reaches a guest that reads its virtio console). */
    public void type(String text) {
        input.feed(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Ends the console input, as closing a terminal would. */
    public void endInput() {
        input.end();
    }

    /** Waits for a complete console line containing {@code text}, and returns that line. */
    public String awaitLine(String text, Duration timeout) throws InterruptedException {
        return awaitLine(line -> line.contains(text), "a line containing \"" + text + "\"", timeout);
    }

    /** Waits for a complete console line the predicate accepts, and returns that line. */
    public String awaitLine(Predicate<String> wanted, String description, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            // Look once more after the guest ended: its last line may have come with the end.
            boolean ended = session.await(Duration.ZERO).isPresent();
            Optional<String> line = lines().stream().filter(wanted).findFirst();
            if (line.isPresent()) {
                return line.get();
            }
            if (ended) {
                throw new AssertionError("the guest ended (" + session.await(Duration.ZERO).get().reason()
                        + ") without printing " + description + "; it printed:\n" + output());
            }
            if (System.nanoTime() - deadline >= 0) {
                throw new AssertionError("no " + description + " in " + timeout + "; the guest printed:\n"
                        + output());
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    // ---- how it runs and how it ended ----

    public GuestSession session() {
        return session;
    }

    /** The host's record of the guest, once /dev/lguest has initialized it (within {@code timeout}). */
    public Guest awaitGuest(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (session.guest().isEmpty()) {
            if (System.nanoTime() - deadline >= 0) {
                throw new AssertionError("the guest was not initialized in " + timeout + "; it printed:\n"
                        + output());
            }
            Thread.sleep(POLL_MILLIS);
        }
        return session.guest().get();
    }

    /**
     * The guest's exit statistics: exits by kind, hypercalls by number, instructions.
     * Live while it runs; final once it has ended.
     */
    public GuestStatistics statistics() throws InterruptedException {
        return awaitGuest(Duration.ofSeconds(30)).statistics;
    }

    /** Waits for the guest to end, at most {@code timeout}. */
    public GuestOutcome awaitEnd(Duration timeout) throws InterruptedException {
        return session.await(timeout).orElseThrow(() -> new AssertionError(
                "the guest did not finish in " + timeout + "; it printed:\n" + output()));
    }

    /** Why the guest ended ("Power down" when it powered off), waiting at most {@code timeout}. */
    public String exitReason(Duration timeout) throws InterruptedException {
        return awaitEnd(timeout).reason();
    }

    /** Stops the guest if it still runs, and ends its input. */
    @Override
    public void close() {
        try {
            if (session.await(Duration.ZERO).isEmpty()) {
                session.stop();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            input.end();
        }
    }
}
