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
 * Snapshots in one framework: the test kernel saved in the middle of its self-test
 * continues from the file, in a new guest, and its self-test passes; a guest saved
 * while it runs on finishes both as itself and as its restored copy, with the same
 * result; and the lguest:save command writes a file that restores.
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
        int rounds = 3_000_000;
        // "checksum " may come before the save: the restored guest prints the rest of the line.
        String checksum = String.format("0x%08x", Guests.checksum(rounds));
        try {
            try (GuestRun run = GuestRun.bootDemo(launcher, "spin=" + rounds)) {
                run.awaitLine(Guests.HELLO, TIMEOUT);
                run.save(file);
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
