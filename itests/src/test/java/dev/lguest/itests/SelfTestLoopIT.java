/*
 * The test kernel's kernel arguments for repeated and longer runs: loop=N (the whole
 * self-test N times), blockcheck=N (the virtio block write-and-verify workload, alone
 * or in every pass) and console-input= (a line typed at the virtio console).
 */
package dev.lguest.itests;

import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
import dev.lguest.api.launcher.LauncherDevice;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * What the stress tests build on, checked on the default build:
 *
 * - loop=N prints the plan once (one test more: the loop's verdict), pass 1's test
 *   lines, then "# pass K: passed P failed F" for each pass, the verdict and the
 *   summary; later passes print nothing else of their own (no test diagnostics).
 * - loop=0 keeps going until the host stops the guest.
 * - blockcheck=N in the loop adds one test that runs N block passes in every pass,
 *   numbered on across passes; each prints the CRC the host computes from the same
 *   pattern (BlockPattern), and the disk ends up holding the last pass's pattern.
 * - mode=blockcheck does only the workload, on a disk whose size is not a whole
 *   number of 64 KiB chunks, and powers off.
 * - console-input=S reads a typed line and passes only when it is S.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class SelfTestLoopIT {
    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final String BLOCKCHECK_TEST = "virtio block write-and-verify workload (blockcheck)";
    private static final String LOOP_TEST = "loop: every pass after the first passes too";

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    private GuestRun boot(Path disk, String... args) throws Exception {
        awaitDevices();
        return GuestRun.boot(launcher, new BootSpec(32, null, Guests.image("testkernel.elf"), null, disk,
                List.of(args), false));
    }

    /** A disk of {@code sectors} sectors, filled with a byte no pattern sector is made of. */
    private static Path disk(int sectors) throws Exception {
        Path disk = Files.createTempFile("testkernel-blockcheck", ".img");
        byte[] image = new byte[sectors * BlockPattern.SECTOR];
        Arrays.fill(image, (byte) 0x5a);
        Files.write(disk, image);
        return disk;
    }

    @Test
    public void loopRunsTheWholeSelfTestEveryPassWithTheBlockWorkload() throws Exception {
        int passes = 3;
        int sectors = 256;
        Path disk = disk(sectors);
        try (GuestRun run = boot(disk, "loop=" + passes, "blockcheck=2")) {
            GuestOutcome outcome = run.awaitEnd(TIMEOUT);
            String output = run.output();
            GuestTestKernelIT.checkReport(outcome, output);

            TapReport tap = TapReport.parse(output);
            int tests = GuestTestKernelIT.EXPECTED.size() + 1;
            assertEquals("the plan: every test, the workload and the loop's verdict\n" + output, tests + 1, tap.plan);
            assertEquals(output, BLOCKCHECK_TEST, tap.tests.get(tests - 1).name());
            assertEquals(output, LOOP_TEST, tap.tests.get(tests).name());
            assertTrue(output, tap.tests.get(tests).ok());
            assertTrue(output, output.contains("\n# loop=" + passes + ": test lines for pass 1 and failures only\n"));
            assertEquals("one line per pass, in order\n" + output,
                    IntStream.rangeClosed(1, passes).mapToObj(k -> new TapReport.Pass(k, tests, 0)).toList(),
                    tap.passes);
            // Tests' own diagnostics come from pass 1 only.
            assertEquals(output, 1, count(output, "# HALT slept "));
            assertEquals(output, 1, count(output, "# block device: "));

            List<String> blockLines = output.lines().filter(l -> l.startsWith("# blockcheck pass ")).toList();
            List<String> want = new ArrayList<>();
            for (int p = 1; p <= 2 * passes; p++) {
                want.add(BlockPattern.okLine(sectors, p));
            }
            assertEquals("two block passes per loop pass, numbered on, with the host's CRCs\n" + output, want,
                    blockLines);
            assertEquals("the disk holds the last block pass's pattern", -1,
                    BlockPattern.firstBadSector(Files.readAllBytes(disk), 2 * passes));
        } finally {
            Files.deleteIfExists(disk);
        }
    }

    @Test
    public void loopZeroKeepsGoingUntilStopped() throws Exception {
        try (GuestRun run = boot(null, "loop=0")) {
            run.awaitLine(l -> l.equals("# pass 4: passed " + GuestTestKernelIT.EXPECTED.size() + " failed 0"),
                    "pass 4's line", TIMEOUT);
            assertTrue(run.output(), run.session().await(Duration.ZERO).isEmpty());
            assertTrue(run.output(), run.output().startsWith("1.." + (GuestTestKernelIT.EXPECTED.size() + 1)
                    + "\n# loop=0: "));
        }
    }

    @Test
    public void blockcheckModeWritesFlushesAndVerifiesEverySector() throws Exception {
        // 300 sectors: two whole chunks of 128 and a short one.
        int sectors = 300;
        Path disk = disk(sectors);
        try (GuestRun run = boot(disk, "mode=blockcheck", "blockcheck=2")) {
            GuestOutcome outcome = run.awaitEnd(TIMEOUT);
            assertEquals(run.output(), "Power down", outcome.reason());
            assertEquals(String.join("\n", "# blockcheck: 300 sectors, 2 passes", BlockPattern.okLine(sectors, 1),
                    BlockPattern.okLine(sectors, 2), "# blockcheck done: passed 2 failed 0", ""), run.output());
            assertEquals(-1, BlockPattern.firstBadSector(Files.readAllBytes(disk), 2));
        } finally {
            Files.deleteIfExists(disk);
        }
    }

    @Test
    public void consoleInputTestReadsTheTypedLine() throws Exception {
        try (GuestRun run = boot(null, "console-input=typed-by-the-host")) {
            run.type("typed-by-the-host\n");
            GuestOutcome outcome = run.awaitEnd(TIMEOUT);
            GuestTestKernelIT.checkReport(outcome, run.output());
            TapReport.Line line = line(TapReport.parse(run.output()), GuestTestKernelIT.CONSOLE_INPUT_TEST);
            assertTrue(run.output(), line.ok() && line.directive() == null);
            assertTrue(run.output(), run.output().contains("# console input: read \"typed-by-the-host\"\n"));
        }
    }

    @Test
    public void consoleInputTestFailsOnAnotherLine() throws Exception {
        try (GuestRun run = boot(null, "console-input=expected")) {
            run.type("something else\n");
            GuestOutcome outcome = run.awaitEnd(TIMEOUT);
            assertEquals(run.output(), "Power down", outcome.reason());
            TapReport tap = TapReport.parse(run.output());
            TapReport.Line line = line(tap, GuestTestKernelIT.CONSOLE_INPUT_TEST);
            assertTrue(run.output(), !line.ok());
            assertEquals("the only failure\n" + run.output(), List.of(line), tap.realFailures());
        }
    }

    private static TapReport.Line line(TapReport tap, String name) {
        return tap.tests.stream().filter(t -> t.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no test line for " + name));
    }

    private static int count(String text, String part) {
        int n = 0;
        for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + 1)) {
            n++;
        }
        return n;
    }

    /** Declarative Services may still be activating the device components. */
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
