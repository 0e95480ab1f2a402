package dev.lguest.itests;

import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.launcher.GuestLauncher;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;

import javax.inject.Inject;
import java.time.Duration;
import java.util.List;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

/**
 * The CPU is replaced under a running guest: a second copy of the CPU bundle is
 * installed and started, the first is uninstalled while the guest computes, and the
 * guest goes on on the second copy's CPU with exactly the output it would have had.
 * The demo guest runs "forever" (after its checksum it keeps computing until stopped),
 * so it is still running at the swap however fast the CPU is or slow the uninstall.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class CpuSwapIT {
    /** Long enough that the checksum is usually still being computed at the swap. */
    private static final int ROUNDS = Guests.LONG_SPIN;

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    @Test
    public void guestSurvivesItsCpuBundleBeingReplaced() throws Exception {
        Bundle original = BundleSwap.providerOf(context, X86CpuFactory.class);
        Bundle copy = BundleSwap.startSecondCopy(context, "lguest-x86-jit");

        Guests.Run run = Guests.bootDemo(launcher, List.of("spin=" + ROUNDS, "forever"));
        BundleSwap.awaitComputing(run);
        Guest guest = run.session().guest().orElseThrow();
        assertSame("the guest starts on the first copy's CPU", original, FrameworkUtil.getBundle(guest.cpuMaker.getClass()));

        assertFalse("the guest is mid-computation when its CPU goes away", guest.isDead());
        original.uninstall();
        // Unbinding the old CPU factory moved the guest off its CPU at an instruction
        // boundary: straight onto the copy's, or parked as a CpuState for the moment
        // the framework binds the copy (SCR may unbind before it binds).
        Bundle runsOn = BundleSwap.awaitCpuFrom(guest, copy);
        assertSame("the guest runs on the second copy's CPU"
                + (guest.isDead() ? " (it ended: " + guest.deadReason() + ")" : ""), copy, runsOn);

        long atSwap = guest.statistics.instructions();

        Guests.awaitChecksumStillRunning(run, ROUNDS, Duration.ofMinutes(5));
        assertTrue("the guest computes on the new CPU after the swap", Guests.computesPast(guest, atSwap));
        assertSame("the guest is still on the second copy's CPU", copy,
                FrameworkUtil.getBundle(guest.cpuMaker.getClass()));
        run.session().stop();
    }

}
