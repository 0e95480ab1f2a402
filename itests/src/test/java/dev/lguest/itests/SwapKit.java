package dev.lguest.itests;

import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.device.LguestDevice;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.hypercalls.HypercallHandler;
import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
import dev.lguest.api.launcher.GuestSession;
import dev.lguest.api.launcher.LauncherDevice;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.switcher.Switcher;
import dev.lguest.api.traps.TrapDelivery;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.wiring.FrameworkWiring;

import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * What the swap stress tests, the in-place update test and the swap pause benchmark
 * share: the list of swappable components, a long guest workload with a disk (the test
 * kernel's self-test loop with its virtio block write-and-verify), and the two ways of
 * replacing a component under it: alternating two installed copies of its bundle
 * (start one, stop the other: no new bundle per swap, so fifty swaps stay cheap), or
 * Bundle.update plus a refresh.
 */
final class SwapKit {
    /** One replaceable component: its bundle and the service it provides. */
    record Component(String label, String bundle, Class<?> service) {
    }

    static final List<Component> COMPONENTS = List.of(
            new Component("CPU", "lguest-x86-jit", X86CpuFactory.class),
            new Component("shadow page tables", "lguest-pagetable", ShadowPageTables.class),
            new Component("segments", "lguest-segments", SegmentManager.class),
            new Component("traps", "lguest-traps", TrapDelivery.class),
            new Component("hypercalls", "lguest-hypercalls", HypercallHandler.class),
            new Component("switcher", "lguest-switcher", Switcher.class),
            new Component("/dev/lguest", "lguest-device", LguestDevice.class),
            new Component("virtio console", "lguest-virtio-console", LauncherDevice.class),
            new Component("virtio block", "lguest-virtio-block", LauncherDevice.class));

    static final int DISK_SECTORS = 2048;

    private SwapKit() {
    }

    static Component component(String bundle) {
        return COMPONENTS.stream().filter(c -> c.bundle().equals(bundle)).findFirst().orElseThrow();
    }

    /** The started bundle with this symbolic name (the build's copy, or the alternate now in use). */
    static Bundle active(BundleContext context, String symbolicName) {
        return Arrays.stream(context.getBundles())
                .filter(b -> symbolicName.equals(b.getSymbolicName()) && b.getState() == Bundle.ACTIVE)
                .findFirst().orElseThrow(() -> new AssertionError("no active " + symbolicName));
    }

    // ---- the workload ----

    /**
     * The test kernel's self-test, {@code passes} times, each pass with
     * {@code blockPasses} virtio block write-and-verify passes over a 1 MiB disk.
     */
    static List<String> workloadArguments(int passes, int blockPasses) {
        return List.of("loop=" + passes, "blockcheck=" + blockPasses);
    }

    /** A running workload: its session, its console, its disk. */
    record Run(GuestSession session, ByteArrayOutputStream console, Path disk) implements AutoCloseable {
        String output() {
            return console.toString(StandardCharsets.ISO_8859_1);
        }

        /** The guest, once the Launcher initialized it. */
        Guest awaitGuest() throws InterruptedException {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (System.nanoTime() < deadline) {
                var g = session.guest();
                if (g.isPresent()) {
                    return g.get();
                }
                Thread.sleep(1);
            }
            throw new AssertionError("the guest never started; it printed: " + output());
        }

        /** Waits until the console shows {@code text} (the workload is past its boot). */
        void awaitOutput(String text, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!output().contains(text)) {
                if (System.nanoTime() > deadline || session.await(Duration.ZERO).isPresent()) {
                    throw new AssertionError("the guest never printed " + text + "; it printed: " + output());
                }
                Thread.sleep(2);
            }
        }

        Finished finish(Duration timeout) throws Exception {
            GuestOutcome outcome = session.await(timeout).orElseThrow(() -> new AssertionError(
                    "the guest did not finish in " + timeout + "; it printed: " + output()));
            return new Finished(outcome, normalized(output()), Files.readAllBytes(disk));
        }

        /**
         * For a workload that loops until stopped (loop=0): waits until it has run one
         * whole self-test pass from now (the pass under way, then the next), stops it,
         * and returns its console (whole lines, timings aside) and its disk.
         */
        Finished stopAfterOneMorePass(Duration timeout) throws Exception {
            int after = (int) output().lines().filter(l -> l.startsWith("# pass ")).count() + 2;
            awaitOutput("# pass " + after + ": ", timeout);
            session.stop();
            GuestOutcome outcome = session.await(timeout).orElseThrow();
            // Whole lines only: the stop may have cut the last one short.
            String out = output();
            return new Finished(outcome, normalized(out.substring(0, out.lastIndexOf('\n') + 1)),
                    Files.readAllBytes(disk));
        }

        @Override
        public void close() throws IOException {
            session.stop();
            Files.deleteIfExists(disk);
        }
    }

    /** How a workload ended: its outcome, its console without timings, its disk. */
    record Finished(GuestOutcome outcome, String console, byte[] disk) {
    }

    /**
     * The workload run once without swaps, to compare a run with swaps against: it
     * must power off having passed every test.
     */
    static Finished referenceRun(GuestLauncher launcher, List<String> args, Duration timeout) throws Exception {
        Finished reference;
        try (Run run = boot(launcher, args)) {
            reference = run.finish(timeout);
        }
        org.junit.Assert.assertTrue(reference.outcome().reason(), reference.outcome().poweredOff());
        org.junit.Assert.assertTrue("the reference run passed every test:\n" + reference.console(),
                reference.console().contains("failed 0\n# passed") || reference.console().endsWith("failed 0"));
        return reference;
    }

    /** The console up to and with the line "# pass 1: ...", less the "# loop=N" line (N differs). */
    static String firstPass(String console) {
        StringBuilder pass = new StringBuilder();
        for (String line : console.split("\n")) {
            if (!line.startsWith("# loop=")) {
                pass.append(line).append('\n');
            }
            if (line.startsWith("# pass 1: ")) {
                return pass.toString();
            }
        }
        throw new AssertionError("no end of pass 1 in:\n" + console);
    }

    /**
     * A looping workload stopped from outside (stopAfterOneMorePass) did as it would
     * alone: its first pass printed exactly {@code alone}'s first pass (a run of the same
     * workload with loop=1), every later pass "passed N failed 0" with pass 1's N and no
     * test failed, the block passes counted on from 1 with the CRC the host computes for
     * each, and every sector holds the pattern of the last block pass reported or of one
     * after it (the pass under way at the stop).
     */
    static void assertRanAsAlone(String what, Finished alone, Finished stopped, int blockPassesPerPass) {
        String console = stopped.console();
        org.junit.Assert.assertEquals(what + ": the first pass, as alone", firstPass(alone.console()),
                firstPass(console));
        List<String> lines = console.lines().toList();
        String passed = lines.stream().filter(l -> l.startsWith("# pass 1: ")).findFirst().orElseThrow()
                .substring("# pass 1: ".length());
        org.junit.Assert.assertTrue(what + ": pass 1 " + passed, passed.endsWith(" failed 0"));
        int pass = 0;
        int blockPass = 0;
        for (String line : lines) {
            org.junit.Assert.assertFalse(what + ": " + line + "\n" + console, line.contains("not ok"));
            if (line.startsWith("# pass ")) {
                pass++;
                org.junit.Assert.assertEquals(what, "# pass " + pass + ": " + passed, line);
            } else if (line.startsWith("# blockcheck pass ")) {
                blockPass++;
                org.junit.Assert.assertEquals(what, BlockPattern.okLine(DISK_SECTORS, blockPass), line);
            }
        }
        org.junit.Assert.assertTrue(what + ": passes after pass 1\n" + console,
                pass >= 2 && blockPass >= blockPassesPerPass * pass);
        byte[] disk = stopped.disk();
        for (long s = 0; s < DISK_SECTORS; s++) {
            boolean recent = false;
            for (int p = blockPass; p <= blockPass + 2 && !recent; p++) {
                recent = Arrays.equals(disk, (int) (s * BlockPattern.SECTOR), (int) ((s + 1) * BlockPattern.SECTOR),
                        BlockPattern.sector(s, p), 0, BlockPattern.SECTOR);
            }
            org.junit.Assert.assertTrue(what + ": sector " + s + " holds no block pattern from pass " + blockPass
                    + " on", recent);
        }
    }

    static Run boot(GuestLauncher launcher, List<String> args) throws Exception {
        Path disk = Files.createTempFile("swap-disk", ".img");
        Files.write(disk, new byte[DISK_SECTORS * 512]);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        GuestSession session = launcher.boot(new BootSpec(64, null, Guests.image("testkernel.elf"), null, disk,
                args, false), console);
        return new Run(session, console, disk);
    }

    /**
     * The console without the lines that carry timings, which no two runs share: "# HALT
     * slept 66 us", and "# the host took 56783 us from arming to stopping", which the
     * clock test prints only when the host was slow to stop the clock (a loaded machine).
     */
    static String normalized(String console) {
        return console.lines().filter(l -> !l.contains(" slept ") && !l.startsWith("# the host took "))
                .collect(Collectors.joining("\n"));
    }

    // ---- replacing a component ----

    /**
     * Two installed copies of one component's bundle, one started at a time: each
     * {@link #swap()} starts the stopped one and stops the running one, so the
     * guest's component goes away with its replacement already there.
     */
    static final class Alternation implements AutoCloseable {
        private final Bundle original;
        private final Bundle alternate;
        private Bundle active;

        Alternation(BundleContext context, String symbolicName) throws IOException, BundleException {
            original = SwapKit.active(context, symbolicName);
            try (InputStream in = new FileInputStream(DefaultBuild.bundleFile(symbolicName))) {
                alternate = context.installBundle(symbolicName + "-alternate-" + System.nanoTime(), in);
            }
            active = original;
        }

        /** One swap; returns the bundle that provides the component now. */
        Bundle swap() throws BundleException {
            Bundle next = active == original ? alternate : original;
            next.start();
            active.stop();
            active = next;
            return next;
        }

        Bundle active() {
            return active;
        }

        /**
         * Every component at once: all the stopped copies are started first, then all
         * the running ones stopped, back to back, so that the guest meets every hand-over
         * in one stretch instead of one component at a time.
         */
        static void swapAll(List<Alternation> alternations) throws BundleException {
            List<Bundle> next = alternations.stream().map(a -> a.active == a.original ? a.alternate : a.original)
                    .toList();
            for (Bundle b : next) {
                b.start();
            }
            for (int i = 0; i < alternations.size(); i++) {
                alternations.get(i).active.stop();
                alternations.get(i).active = next.get(i);
            }
        }

        /** Leaves the build as it was: the original started, the alternate gone. */
        @Override
        public void close() throws BundleException {
            if (active != original) {
                swap();
            }
            alternate.uninstall();
        }
    }

    /**
     * The bundle jar {@code jar} with one more Import-Package, of a package nobody
     * exports: an update to it cannot resolve, so its new revision never starts.
     */
    static byte[] withExtraImport(java.io.File jar, String missingPackage) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (java.util.jar.JarInputStream in = new java.util.jar.JarInputStream(new FileInputStream(jar))) {
            java.util.jar.Manifest manifest = new java.util.jar.Manifest(in.getManifest());
            java.util.jar.Attributes main = manifest.getMainAttributes();
            String imports = main.getValue("Import-Package");
            main.putValue("Import-Package", (imports == null ? "" : imports + ",") + missingPackage);
            try (java.util.jar.JarOutputStream out = new java.util.jar.JarOutputStream(bytes, manifest)) {
                for (java.util.jar.JarEntry entry; (entry = in.getNextJarEntry()) != null; ) {
                    out.putNextEntry(new java.util.jar.JarEntry(entry.getName()));
                    in.transferTo(out);
                    out.closeEntry();
                }
            }
        }
        return bytes.toByteArray();
    }

    /** Updates {@code bundle} in place from its jar and refreshes it, as an operator would. */
    static void updateInPlace(BundleContext context, Bundle bundle) throws Exception {
        try (InputStream in = new FileInputStream(DefaultBuild.bundleFile(bundle.getSymbolicName()))) {
            bundle.update(in);
        }
        CountDownLatch done = new CountDownLatch(1);
        context.getBundle(0).adapt(FrameworkWiring.class).refreshBundles(List.of(bundle), event -> {
            if (event.getType() == FrameworkEvent.PACKAGES_REFRESHED) {
                done.countDown();
            }
        });
        if (!done.await(30, TimeUnit.SECONDS)) {
            throw new AssertionError("the framework did not refresh " + bundle.getSymbolicName());
        }
    }
}
