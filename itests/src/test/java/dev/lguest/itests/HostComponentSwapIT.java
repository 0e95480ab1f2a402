package dev.lguest.itests;

import dev.lguest.api.device.LguestDevice;
import dev.lguest.api.hypercalls.HypercallHandler;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.switcher.Switcher;
import dev.lguest.api.traps.TrapDelivery;
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
import java.time.Duration;
import java.util.List;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertSame;

/**
 * Each host component is replaced under a running guest: a second copy of its bundle
 * is installed and started, and the first is uninstalled while the guest computes.
 * The guest must go on with exactly the output it would have had, and the service
 * in use afterwards must be the second copy's. The demo guest runs "forever" (after
 * its checksum it computes until stopped), so it is still running at the swap however
 * fast its CPU is.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class HostComponentSwapIT {
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
    public void shadowPageTablesAreReplaced() throws Exception {
        swapUnderRunningGuest("lguest-pagetable", ShadowPageTables.class);
    }

    @Test
    public void segmentsAreReplaced() throws Exception {
        swapUnderRunningGuest("lguest-segments", SegmentManager.class);
    }

    @Test
    public void trapDeliveryIsReplaced() throws Exception {
        swapUnderRunningGuest("lguest-traps", TrapDelivery.class);
    }

    @Test
    public void hypercallsAreReplaced() throws Exception {
        swapUnderRunningGuest("lguest-hypercalls", HypercallHandler.class);
    }

    @Test
    public void theSwitcherIsReplaced() throws Exception {
        swapUnderRunningGuest("lguest-switcher", Switcher.class);
    }

    @Test
    public void theLguestDeviceIsReplaced() throws Exception {
        swapUnderRunningGuest("lguest-device", LguestDevice.class);
    }

    private <S> void swapUnderRunningGuest(String artifact, Class<S> service) throws Exception {
        Bundle original = BundleSwap.providerOf(context, service);
        Bundle copy = BundleSwap.startSecondCopy(context, artifact);

        Guests.Run run = Guests.bootDemo(launcher, List.of("spin=" + ROUNDS, "forever"));
        BundleSwap.awaitComputing(run);
        assertFalse("the guest is mid-computation when its component goes away",
                run.session().guest().orElseThrow().isDead());
        original.uninstall();
        assertSame("the second copy provides " + service.getSimpleName(), copy, BundleSwap.providerOf(context, service));

        Guests.awaitChecksumStillRunning(run, ROUNDS, Duration.ofMinutes(3));
        run.session().stop();
    }

}
