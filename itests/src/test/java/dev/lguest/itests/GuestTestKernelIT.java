package dev.lguest.itests;

import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
import dev.lguest.api.launcher.GuestSession;
import dev.lguest.api.launcher.LauncherDevice;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;

import javax.inject.Inject;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * The test kernel (guest/testkernel) boots on the default build the way a Linux
 * 2.6.24 guest does, tests every hypercall and every way a trap or interrupt reaches
 * a guest from the inside, prints the results as TAP and powers off. Here we check
 * that it got to the end, that its report is complete and whole, and that nothing
 * failed except what is marked TODO (a known CPU bug, listed with its reason).
 *
 * Booted again with a gzip'ed initrd and a disk, the same kernel also unpacks the
 * initrd and drives the virtio console and block devices: it writes sectors 1 and 2
 * (which we then find in the file), reads back sector 0 as we wrote it before boot,
 * flushes, and is refused reads past the end.
 *
 * SelfTestLoopIT covers the kernel arguments that repeat the self-test (loop=N), add
 * the block workload (blockcheck=N) and feed the console input test (console-input=).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class GuestTestKernelIT {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);
    private static final String IMAGE = "testkernel.elf";

    /**
     * The tests the kernel must report, by name: each hypercall (CRASH is the power-off
     * itself) and each trap and interrupt path.
     */
    static final List<String> EXPECTED = List.of(
            "LGUEST_INIT fills in lguest_data",
            "NOTIFY prints on the early console",
            "LOAD_GDT installs our segments at ring 1",
            "LOAD_TLS installs the TLS descriptors",
            "LOAD_IDT_ENTRY re-points a vector",
            "SET_STACK moves where ring-3 traps land",
            "NEW_PGTABLE switches page directories",
            "SET_PTE updates a mapping",
            "SET_PMD replaces a page table",
            "FLUSH_TLB(0) drops user mappings",
            "FLUSH_TLB(1) drops kernel mappings",
            "FLUSH_ASYNC runs the queued hypercalls",
            "async hypercall ring wraps around in order",
            "TS and #NM: lazy FPU switching",
            "#DE divide error is reflected",
            "#UD invalid opcode is reflected",
            "#BP int3 reaches the guest",
            "#GP is reflected with its error code",
            "in/out at ring 1 are skipped by the host",
            "#PF is reflected with cr2 in lguest_data",
            "demand paging of kernel pages",
            "int $0x80 from ring 3 is a direct trap",
            "demand paging of the ring-3 stack",
            "copy-on-write at ring 3",
            "ring 3 cannot read kernel pages",
            "ring 3 cannot make hypercalls",
            "SET_CLOCKEVENT: timer interrupt arrives",
            "timer interrupt stops a spinning guest",
            "timer interrupt arrives in ring 3",
            "irq_enabled masks and unmasks the timer",
            "blocked_interrupts masks the timer",
            "iret with IF clear keeps interrupts masked",
            "SET_CLOCKEVENT 0 stops the clock",
            "HALT sleeps until the timer wakes it",
            "no interrupt inside the noirq iret path",
            "initrd: the cpio archive unpacks",
            "virtio console takes output on its queue",
            "virtio block capacity comes from its config",
            "virtio block writes sectors and reads them back",
            "virtio block flush succeeds",
            "virtio block read past the end gives IOERR",
            "virtio console reads a typed line from its input queue");

    /** The test that reads console input; it says SKIP without console-input= (SelfTestLoopIT types at it). */
    static final String CONSOLE_INPUT_TEST = "virtio console reads a typed line from its input queue";

    /** The tests that need an initrd or a device, and say SKIP without one. */
    static final List<String> DEVICE_TESTS = EXPECTED.subList(EXPECTED.indexOf("initrd: the cpio archive unpacks"),
            EXPECTED.indexOf(CONSOLE_INPUT_TEST));

    @Inject
    private GuestLauncher launcher;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    @Inject
    private BundleContext context;

    @Test
    public void selfTestPassesAndPowersOff() throws Exception {
        Guests.Run run = Guests.boot(launcher, Guests.image(IMAGE), 32, List.of());
        GuestOutcome outcome = run.awaitEnd(TIMEOUT);
        checkReport(outcome, run.output());
    }

    private static final int SECTOR = 512;
    private static final String HOST_LINE = "the host wrote sector 0 before boot";

    @Test
    public void withAnInitrdAndADiskTheDeviceTestsRun() throws Exception {
        awaitDevices(2);
        Path disk = Files.createTempFile("testkernel-disk", ".img");
        Path initrd = Initrd.file(Initrd.gzip(Initrd.newc(Map.of("syscheck.elf", Guests.image("syscheck.elf")))));
        try {
            byte[] image = new byte[32 * SECTOR];
            byte[] hostLine = (HOST_LINE + "\n").getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(hostLine, 0, image, 0, hostLine.length);
            Arrays.fill(image, 3 * SECTOR, image.length, (byte) 0x5a);
            Files.write(disk, image);

            ByteArrayOutputStream console = new ByteArrayOutputStream();
            GuestSession session = launcher.boot(new BootSpec(32, null, Guests.image(IMAGE), initrd, disk, List.of(),
                    false), console);
            GuestOutcome outcome = session.await(TIMEOUT).orElseThrow(() -> new AssertionError(
                    "the test kernel did not finish; it printed: " + console.toString(StandardCharsets.ISO_8859_1)));
            String output = console.toString(StandardCharsets.ISO_8859_1);
            checkReport(outcome, output);

            TapReport tap = TapReport.parse(output);
            List<String> skipped = tap.tests.stream().filter(t -> "SKIP".equals(t.directive()))
                    .map(TapReport.Line::name).filter(DEVICE_TESTS::contains).toList();
            assertEquals("with an initrd and a disk nothing is skipped:\n" + output, List.of(), skipped);
            assertTrue(output, output.contains("# initrd: 1 files, gzip'ed cpio\n"));
            assertTrue(output, output.contains("# block device: 32 sectors"));
            assertTrue(output, output.contains("# sector 0 says: " + HOST_LINE + "\n"));
            assertTrue(output, output.contains("# this line came through the virtio console's output queue\n"));

            byte[] after = Files.readAllBytes(disk);
            assertEquals("the disk keeps its size", image.length, after.length);
            assertArrayEquals("sector 0 is as we wrote it", Arrays.copyOf(image, SECTOR), Arrays.copyOf(after, SECTOR));
            assertArrayEquals("sector 1 holds what the kernel wrote", testSector(1),
                    Arrays.copyOfRange(after, SECTOR, 2 * SECTOR));
            assertArrayEquals("sector 2 holds what the kernel wrote", testSector(2),
                    Arrays.copyOfRange(after, 2 * SECTOR, 3 * SECTOR));
            assertArrayEquals("the rest is as we left it", Arrays.copyOfRange(image, 3 * SECTOR, image.length),
                    Arrays.copyOfRange(after, 3 * SECTOR, after.length));
        } finally {
            Files.deleteIfExists(disk);
            Files.deleteIfExists(initrd);
        }
    }

    /** What guest/testkernel/selftest.c writes to sector n: a line naming it, then (i * 7 + n). */
    private static byte[] testSector(int n) {
        byte[] line = ("testkernel wrote sector " + n + "\n").getBytes(StandardCharsets.US_ASCII);
        byte[] sector = new byte[SECTOR];
        for (int i = 0; i < SECTOR; i++) {
            sector[i] = i < line.length ? line[i] : (byte) (i * 7 + n);
        }
        return sector;
    }

    /** Declarative Services may still be activating the device components. */
    private void awaitDevices(int count) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (context.getServiceReferences(LauncherDevice.class, null).size() < count) {
            if (System.nanoTime() > deadline) {
                fail("the virtio device services did not appear");
            }
            Thread.sleep(50);
        }
    }

    /** A whole report: powered off, plan first and complete, numbered, summed up, nothing failed. */
    static void checkReport(GuestOutcome outcome, String output) {
        assertEquals("the test kernel powers off; it printed:\n" + output, "Power down", outcome.reason());
        assertTrue(outcome.poweredOff());

        TapReport tap = TapReport.parse(output);
        assertTrue("the plan comes first:\n" + output, tap.planFirst);
        assertEquals("the plan counts every test line:\n" + output, tap.plan, tap.tests.size());
        assertEquals("tests are numbered 1..N in order",
                IntStream.rangeClosed(1, tap.plan).boxed().toList(),
                tap.tests.stream().map(TapReport.Line::number).toList());
        long passed = tap.tests.stream().filter(TapReport.Line::ok).count();
        assertEquals("summary line: passed", passed, tap.summaryPassed);
        assertEquals("summary line: failed", tap.tests.size() - passed, tap.summaryFailed);

        List<String> missing = new ArrayList<>(EXPECTED);
        missing.removeAll(tap.names());
        assertTrue("tests the kernel did not report: " + missing + "\n" + output, missing.isEmpty());

        List<TapReport.Line> failures = tap.realFailures();
        if (!failures.isEmpty()) {
            fail("failed in the guest:\n" + failures.stream().map(TapReport.Line::text)
                    .collect(Collectors.joining("\n")) + "\n\nwhole output:\n" + output);
        }
    }
}
