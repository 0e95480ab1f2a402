package dev.lguest.itests;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.hypercalls.HypercallHandler;
import dev.lguest.api.launcher.GuestLauncher;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;

import javax.inject.Inject;
import java.time.Duration;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * The test kernel's pause probe (mode=pauseprobe), which the swap pause benchmark
 * relies on, sees a stop of the guest the host made on purpose, at the moment the
 * host made it, and only gaps over its threshold are reported.
 *
 * The stop: a hypercall service ranked above the build's, so the switcher binds it,
 * which passes every call on to the build's and, once armed, holds the guest's
 * thread for a while in one call. No timing is assumed beyond that hold: the probe
 * must report a gap at least as long, around it; and the benchmark's reading of the
 * guest thread's blocked time (HostNoise) must count the hold.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class PauseProbeIT {
    private static final long HOLD_MILLIS = 80;
    private static final Pattern DONE = Pattern.compile("# pauseprobe done: (\\d+) reads, longest gap (\\d+) us");

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    /** Passes every hypercall on; the first one after {@link #arm()} is held for a while. */
    private static final class HoldingHypercalls implements HypercallHandler {
        private final HypercallHandler real;
        private volatile boolean armed;
        private final CountDownLatch held = new CountDownLatch(1);
        volatile long holdStart;
        volatile long holdEnd;

        HoldingHypercalls(HypercallHandler real) {
            this.real = real;
        }

        void arm() {
            armed = true;
        }

        @Override
        public void doHypercalls(Guest guest) {
            if (armed) {
                armed = false;
                holdStart = PauseProbe.now();
                try {
                    Thread.sleep(HOLD_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                holdEnd = PauseProbe.now();
                held.countDown();
            }
            real.doHypercalls(guest);
        }

        @Override
        public void doHypercall(Guest guest, int number, int arg1, int arg2, int arg3) {
            real.doHypercall(guest, number, arg1, arg2, arg3);
        }
    }

    @Test
    public void aHeldGuestReportsTheHoldAsAGap() throws Exception {
        HypercallHandler real = context.getService(context.getServiceReference(HypercallHandler.class));
        HoldingHypercalls holding = new HoldingHypercalls(real);
        Hashtable<String, Object> ranking = new Hashtable<>();
        ranking.put(Constants.SERVICE_RANKING, 100);
        ServiceRegistration<HypercallHandler> registration =
                context.registerService(HypercallHandler.class, holding, ranking);
        try (SwapKit.Run run = SwapKit.boot(launcher, PauseProbe.arguments(5_000))) {
            Guest guest = run.awaitGuest();
            run.awaitOutput("# pauseprobe ready", Duration.ofSeconds(60));
            HostNoise host = HostNoise.forThread(guest.owner);
            HostNoise.Reading before = host.read();
            holding.arm();
            assertTrue("the guest made no hypercall after the hold was armed",
                    holding.held.await(30, TimeUnit.SECONDS));
            long blocked = HostNoise.blocked(before, host.read());
            assertTrue("the guest thread's blocked time (" + blocked + " ns) misses the hold",
                    blocked >= TimeUnit.MILLISECONDS.toNanos(HOLD_MILLIS - 2));
            // The probe reports a gap once it has read the clock after it.
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            PauseProbe.Gap around = null;
            while (around == null && System.nanoTime() < deadline) {
                for (PauseProbe.Gap g : PauseProbe.gaps(run.output())) {
                    if (g.start() <= holding.holdStart + 1_000 && g.end() >= holding.holdEnd - 1_000) {
                        around = g;
                    }
                }
                Thread.sleep(5);
            }
            assertTrue("no reported gap covers the hold [" + holding.holdStart + ", " + holding.holdEnd
                    + "]; the guest printed: " + run.output(), around != null);
            long hold = holding.holdEnd - holding.holdStart;
            assertTrue("the gap (" + around.nanos() + " ns) is shorter than the hold (" + hold + " ns)",
                    around.nanos() >= hold - 1_000);
            assertEquals("the longest gap in the hold's window is the hold's",
                    around.nanos(), PauseProbe.longestIn(PauseProbe.gaps(run.output()),
                            new PauseProbe.Window(holding.holdStart, holding.holdEnd)));
        } finally {
            registration.unregister();
            context.ungetService(context.getServiceReference(HypercallHandler.class));
        }
    }

    @Test
    public void aBoundedProbeReportsOnlyGapsOverItsThresholdAndPowersOff() throws Exception {
        long thresholdMicros = 1_000;
        List<String> args = List.of("mode=pauseprobe", "pause-threshold-us=" + thresholdMicros, "pause-seconds=1");
        try (SwapKit.Run run = SwapKit.boot(launcher, args)) {
            SwapKit.Finished finished = run.finish(Duration.ofSeconds(120));
            assertTrue("the probe did not power off: " + finished.outcome(), finished.outcome().poweredOff());
            String console = run.output();
            assertTrue(console, console.contains("# pauseprobe: gaps over 1000 us"));
            Matcher done = DONE.matcher(console);
            assertTrue("no summary; the guest printed: " + console, done.find());
            assertTrue("the probe read the clock only " + done.group(1) + " times", Long.parseLong(done.group(1)) > 100);
            long longest = Long.parseLong(done.group(2)) * 1_000;
            for (PauseProbe.Gap g : PauseProbe.gaps(console)) {
                assertTrue("a reported gap of " + g.nanos() + " ns is under the threshold",
                        g.nanos() > thresholdMicros * 1_000 - 1_000);
                assertFalse("a reported gap of " + g.nanos() + " ns is longer than the longest, " + longest,
                        g.nanos() > longest);
            }
        }
    }
}
