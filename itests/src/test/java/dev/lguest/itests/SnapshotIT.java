package dev.lguest.itests;

import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.LauncherDevice;
import dev.lguest.api.snapshot.Snapshots;
import dev.lguest.exam.GuestRun;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;

import javax.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * Snapshots: the test kernel saved in the middle of its self-test continues from the
 * file, in a new guest of this framework, and in a new process on the simple MMU
 * build, and its self-test passes; a guest saved while it runs on finishes both as
 * itself and as its restored copy, with the same result; a truncated, corrupted,
 * foreign or newer file, and a build without a device the snapshot needs, each give
 * `lguest --restore` one line and exit status 1.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class SnapshotIT {
    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    static final int PASSES = 6;

    @Inject
    private GuestLauncher launcher;

    @Inject
    private Snapshots snapshots;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    private GuestRun bootTestKernel(String... args) throws Exception {
        awaitDevices();
        return GuestRun.boot(launcher, new BootSpec(32, null, Guests.image("testkernel.elf"), null, null,
                List.of(args), false));
    }

    @Test
    public void theTestKernelSavedInItsSelfTestPassesItAfterTheRestore() throws Exception {
        Path file = Files.createTempFile("testkernel", ".snap");
        try {
            String before;
            try (GuestRun run = bootTestKernel("loop=" + PASSES)) {
                run.awaitLine("ok 12 ", TIMEOUT);
                Snapshots.Saved saved = run.saveAndStop(file);
                assertEquals("saved to " + file, run.exitReason(TIMEOUT));
                assertTrue(saved.toString(), saved.bytes() > 0 && saved.ramPages() > 0);
                before = run.output();
            }
            assertFalse("the guest stopped before its self-test ended:\n" + before,
                    before.contains("# pass 1:"));
            try (GuestRun restored = GuestRun.restore(snapshots, file)) {
                restored.awaitLine("# passed " + (TapReport.parse(before).plan) + " failed 0", TIMEOUT);
                assertEquals("Power down", restored.exitReason(TIMEOUT));
                String after = restored.output();
                assertFalse(after, after.contains("not ok"));
                assertTrue(after, after.contains("# pass 1: passed " + (TapReport.parse(before).plan - 1)
                        + " failed 0"));
                assertTrue(after, after.contains("# pass " + PASSES + ": passed"));
                // The restored guest starts where the saved one stopped: no line twice, none lost.
                String lastBefore = before.lines().reduce((a, b) -> b).orElseThrow();
                assertFalse(after, after.contains(lastBefore + "\n"));
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    public void aGuestSavedWhileItRunsOnFinishesTwiceWithTheSameResult() throws Exception {
        Path file = Files.createTempFile("demo", ".snap");
        int rounds = Guests.LONG_SPIN;
        // "checksum " may come before the save: the restored guest prints the rest of the line.
        String checksum = String.format("0x%08x", Guests.checksum(rounds));
        try {
            try (GuestRun run = GuestRun.bootDemo(launcher, "spin=" + rounds)) {
                run.awaitLine(Guests.HELLO, TIMEOUT);
                run.save(file);
                Guests.assertStillComputing(run.output(), "save");
                run.awaitLine(checksum, TIMEOUT);
                assertEquals("Power down", run.exitReason(TIMEOUT));
            }
            for (int i = 0; i < 2; i++) {
                try (GuestRun restored = GuestRun.restore(snapshots, file)) {
                    restored.awaitLine(checksum, TIMEOUT);
                    assertEquals("Power down", restored.exitReason(TIMEOUT));
                    assertFalse(restored.output(), restored.output().contains(Guests.HELLO));
                }
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** The test kernel with a disk, saved and stopped in the middle of its self-test's first pass. */
    private Path savedTestKernel(Path disk, int passes) throws Exception {
        Path file = Files.createTempFile("testkernel", ".snap");
        awaitDevices();
        try (GuestRun run = GuestRun.boot(launcher, new BootSpec(32, null, Guests.image("testkernel.elf"), null, disk,
                List.of("loop=" + passes), false))) {
            run.awaitLine("ok 12 ", TIMEOUT);
            run.saveAndStop(file);
            assertEquals("saved to " + file, run.exitReason(TIMEOUT));
        }
        return file;
    }

    private static Path disk() throws Exception {
        Path disk = Files.createTempFile("testkernel-disk", ".img");
        Files.write(disk, new byte[1 << 20]);
        return disk;
    }

    @Test
    public void theTestKernelRestoresInANewProcessOnTheSimpleMmuBuild() throws Exception {
        Path disk = disk();
        Path file = savedTestKernel(disk, 2);
        try {
            LguestProcess.Result result = LguestProcess.run("lguest-simple-mmu", "--restore=" + file);
            assertEquals(result.toString(), 0, result.exitCode());
            assertFalse(result.toString(), result.out().contains("not ok"));
            assertTrue(result.toString(), result.out().contains("# pass 2: passed"));
            assertTrue(result.toString(), result.out().contains("virtio block writes sectors and reads them back"));
            assertTrue(result.toString(), result.out().lines().anyMatch(l -> l.matches("# passed \\d+ failed 0")));
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(disk);
        }
    }

    @Test
    public void badSnapshotsAreOneLineAndExitStatus1() throws Exception {
        Path disk = disk();
        Path file = savedTestKernel(disk, 1);
        Path bad = Files.createTempFile("bad", ".snap");
        try {
            byte[] good = Files.readAllBytes(file);
            Files.write(bad, java.util.Arrays.copyOf(good, good.length / 2));
            assertOneLine(LguestProcess.run("lguest", "--restore=" + bad), "truncated snapshot");

            byte[] corrupt = good.clone();
            corrupt[corrupt.length / 2] ^= 0x40;
            Files.write(bad, corrupt);
            assertOneLine(LguestProcess.run("lguest", "--restore=" + bad), "corrupt snapshot: section ");

            Files.writeString(bad, "#!/bin/sh\necho not a snapshot\n");
            assertOneLine(LguestProcess.run("lguest", "--restore=" + bad), "not an lguest snapshot");

            byte[] newer = good.clone();
            newer[dev.lguest.api.snapshot.SnapshotFile.MAGIC.length + 3] = 9;
            Files.write(bad, newer);
            assertOneLine(LguestProcess.run("lguest", "--restore=" + bad),
                    "snapshot format version 9; this build reads version 1");

            assertOneLine(LguestProcess.run("lguest-noblock", "--restore=" + file),
                    "this build has no virtio block device (virtio type 2), which the snapshot needs");

            assertOneLine(LguestProcess.run("lguest", "--restore=" + file + ".missing"), "no such file");
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(bad);
            Files.deleteIfExists(disk);
        }
    }

    private static void assertOneLine(LguestProcess.Result result, String says) {
        assertEquals(result.toString(), 1, result.exitCode());
        assertEquals(result.toString(), 1, result.err().lines().count());
        assertTrue(result.toString(), result.err().startsWith("lguest: ") && result.err().contains(says));
    }

    private void awaitDevices() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (context.getServiceReferences(LauncherDevice.class, null).size() < 2) {
            if (System.nanoTime() > deadline) {
                fail("the virtio device services did not appear");
            }
            Thread.sleep(50);
        }
    }
}
