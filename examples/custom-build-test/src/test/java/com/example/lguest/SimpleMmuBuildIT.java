package com.example.lguest;

import dev.lguest.api.guest.GuestStatistics;
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
import org.osgi.framework.BundleContext;

import javax.inject.Inject;
import java.time.Duration;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * A user's test of a custom build: lguest without the virtio block device and with
 * the simple shadow page tables. The demo guest boots on it and powers off, having
 * faulted its pages in through the simple MMU; then the real page tables are swapped
 * in under a second guest while it computes.
 */
@RunWith(PaxExam.class)
public class SimpleMmuBuildIT {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return LguestBuild.defaultBuild()
                .without("lguest-virtio-block")
                .replacing("lguest-pagetable", "lguest-pagetable-simple")
                .withSpare("lguest-pagetable")
                .options();
    }

    @Test
    public void theDemoGuestSaysHelloAndPowersOff() throws Exception {
        try (GuestRun run = GuestRun.bootDemo(launcher)) {
            run.awaitLine("Hello from the guest", TIMEOUT);
            assertEquals("Power down", run.exitReason(TIMEOUT));
            assertTrue(run.statistics().exits(GuestStatistics.Exit.PAGE_FAULT) > 0);
        }
    }

    @Test
    public void theRealPageTablesCanBeSwappedInUnderARunningGuest() throws Exception {
        try (GuestRun run = GuestRun.bootDemo(launcher, "spin=12000000")) {
            run.awaitLine("Hello from the guest", TIMEOUT);
            ComponentSwap.replace(context, ShadowPageTables.class, "lguest-pagetable");
            assertEquals("Power down", run.exitReason(TIMEOUT));
            assertTrue(run.awaitLine("checksum", TIMEOUT).startsWith("checksum 0x"));
        }
    }
}
