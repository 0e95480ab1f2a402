package dev.lguest.itests;

import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
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

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

/**
 * The CPU is replaced under a running guest: a second copy of the CPU bundle is
 * installed and started, the first is uninstalled while the guest computes, and the
 * guest finishes on the second copy's CPU with exactly the output it would have had.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class CpuSwapIT {
    /**
     * Long enough that the guest is mid-computation when its CPU goes away (20 million
     * rounds once finished during the uninstall: a guest that has ended has no CPU).
     */
    private static final int ROUNDS = 100_000_000;

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

        Guests.Run run = Guests.bootDemo(launcher, List.of("spin=" + ROUNDS));
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

        GuestOutcome outcome = run.awaitEnd(Duration.ofMinutes(5));
        assertTrue(outcome.reason(), outcome.poweredOff());
        assertEquals(String.format("%s%nchecksum 0x%08x%n", Guests.HELLO, Guests.checksum(ROUNDS)), run.output());
        assertTrue("the guest ran on the new CPU after the swap",
                guest.statistics.instructions() > ROUNDS);
    }

}
