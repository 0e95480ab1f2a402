package dev.lguest.itests;

import dev.lguest.api.guest.GuestStatistics;
import dev.lguest.api.hypercalls.Hypercall;
import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.exam.ComponentSwap;
import dev.lguest.exam.GuestRun;
import dev.lguest.exam.LguestBuild;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

import javax.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

/**
 * The exam kit on a custom build: the default build with the simple shadow page
 * tables in place of lguest-pagetable, and without virtio block. It boots the demo
 * guest and the guest test kernel (every TAP test ok), reports exit statistics,
 * refuses a disk, and takes the real page tables back under a running guest.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class ExamKitIT {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return new Option[] {
            LguestBuild.defaultBuild()
                    .replacing("lguest-pagetable", "lguest-pagetable-simple")
                    .without("lguest-virtio-block")
                    .withSpare("lguest-pagetable")
                    .option(),
            systemProperty("lguest.guests").value(System.getProperty("lguest.guests", "")),
        };
    }

    @Test
    public void theDemoGuestRunsOnTheSimpleMmuAndCountsItsExits() throws Exception {
        assertEquals("lguest-pagetable-simple",
                ComponentSwap.providerOf(context, ShadowPageTables.class).getSymbolicName());
        try (GuestRun run = GuestRun.bootDemo(launcher, "spin=1000")) {
            run.awaitLine(GuestRun.DEMO_HELLO, TIMEOUT);
            assertEquals("Power down", run.exitReason(TIMEOUT));
            assertEquals(String.format("checksum 0x%08x", Guests.checksum(1000)), run.lines().get(1));
            GuestStatistics statistics = run.statistics();
            assertTrue("the guest faulted its pages in: " + statistics.exitCounts(),
                    statistics.exits(GuestStatistics.Exit.PAGE_FAULT) > 0);
            assertTrue("it made hypercalls: " + statistics.exitCounts(),
                    statistics.exits(GuestStatistics.Exit.HYPERCALL) > 0);
            assertTrue(statistics.instructions() > 1000);
        }
    }

    @Test
    public void theGuestTestKernelPassesOnTheSimpleMmu() throws Exception {
        try (GuestRun run = GuestRun.boot(launcher, Guests.image("testkernel.elf"), 32, List.of())) {
            assertEquals("the test kernel powers off; it printed:\n" + run.output(), "Power down",
                    run.exitReason(TIMEOUT));
            TapReport tap = TapReport.parse(run.output());
            assertEquals("the plan counts every test line:\n" + run.output(), tap.plan, tap.tests.size());
            assertTrue("at least the 35 tests of the first test kernel", tap.plan >= 35);
            List<TapReport.Line> failures = tap.realFailures();
            if (!failures.isEmpty()) {
                fail("failed in the guest on the simple MMU:\n" + failures.stream().map(TapReport.Line::text)
                        .collect(Collectors.joining("\n")) + "\n\nwhole output:\n" + run.output());
            }
            assertTrue("it switched page tables: NEW_PGTABLE was called",
                    run.statistics().hypercalls(Hypercall.NEW_PGTABLE.number) > 0);
        }
    }

    @Test
    public void aDiskIsRefusedWithOneLine() throws Exception {
        byte[] demo = GuestRun.demoGuest(launcher);
        try {
            GuestRun.boot(launcher, new BootSpec(16, null, demo, null, Path.of("disk.img"), List.of(), false)).close();
            fail("this build has no virtio block device, yet it booted a guest with a disk");
        } catch (BootException expected) {
            assertEquals("--block: this build has no virtio block device", expected.getMessage());
        }
    }

    @Test
    public void theRealPageTablesTakeOverUnderARunningGuest() throws Exception {
        int rounds = Guests.LONG_SPIN;
        try (GuestRun run = GuestRun.bootDemo(launcher, "spin=" + rounds)) {
            run.awaitLine(GuestRun.DEMO_HELLO, TIMEOUT);
            ComponentSwap.awaitRunning(run, TIMEOUT);
            Bundle simple = ComponentSwap.providerOf(context, ShadowPageTables.class);

            Bundle real = ComponentSwap.replace(context, ShadowPageTables.class, "lguest-pagetable");

            assertNotEquals(simple, real);
            assertEquals("lguest-pagetable", real.getSymbolicName());
            Guests.assertStillComputing(run.output(), "swap");
            assertEquals("Power down", run.exitReason(Duration.ofMinutes(3)));
            assertEquals(String.format("checksum 0x%08x", Guests.checksum(rounds)), run.lines().get(1));
        }
    }
}
