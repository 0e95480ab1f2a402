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

import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

/**
 * The translating CPU (lguest-x86-jit) is swapped in under a guest running on the
 * interpreter, and the interpreter back in under the same guest: each time the new
 * bundle is started and the old one uninstalled while the guest computes, and the
 * guest prints exactly what it would have printed on one CPU. The demo guest runs
 * "forever" (after its checksum it keeps computing until stopped), so it is still
 * running at the second swap however fast the translator is.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class TranslatorSwapIT {
    /** Long enough that the checksum is usually still being computed at both swaps. */
    private static final int ROUNDS = Guests.LONG_SPIN;

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        // The guest starts on the interpreter on purpose: the test moves it to the translator and back.
        return new Option[] {DefaultBuild.interpreterOptions()};
    }

    @Test
    public void guestMovesToTheTranslatorAndBack() throws Exception {
        Bundle interpreter = BundleSwap.providerOf(context, X86CpuFactory.class);
        Guests.Run run = Guests.bootDemo(launcher, List.of("spin=" + ROUNDS, "forever"));
        BundleSwap.awaitComputing(run);
        Guest guest = run.session().guest().orElseThrow();
        assertSame("the guest starts on the interpreter", interpreter,
                FrameworkUtil.getBundle(guest.cpuMaker.getClass()));

        Bundle translator = BundleSwap.startSecondCopy(context, "lguest-x86-jit");
        interpreter.uninstall();
        assertSame("the guest runs on the translator" + (guest.isDead() ? " (it ended: " + guest.deadReason() + ")" : ""),
                translator, BundleSwap.awaitCpuFrom(guest, translator));
        assertTrue("the guest computes on the translator",
                Guests.computesPast(guest, guest.statistics.instructions()));

        Bundle interpreterAgain = BundleSwap.startSecondCopy(context, "lguest-x86-cpu");
        translator.uninstall();
        assertSame("the guest is back on the interpreter" + (guest.isDead() ? " (it ended: " + guest.deadReason() + ")" : ""),
                interpreterAgain, BundleSwap.awaitCpuFrom(guest, interpreterAgain));

        assertTrue("the guest computes on the interpreter again",
                Guests.computesPast(guest, guest.statistics.instructions()));

        Guests.awaitChecksumStillRunning(run, ROUNDS, Duration.ofMinutes(15));
        run.session().stop();
    }
}
