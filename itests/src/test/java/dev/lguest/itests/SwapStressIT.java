package dev.lguest.itests;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.launcher.GuestLauncher;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;

import javax.inject.Inject;
import java.time.Duration;
import java.util.List;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * Swap stress: each component is replaced fifty times while one guest runs the test
 * kernel's self-test loop with a virtio block write-and-verify in every pass, by
 * alternating two installed copies of its bundle. The guest must power off with every
 * test passed, the same console lines (timings aside) and the very same disk as a run
 * of the same workload without swaps: nothing lost, nothing written twice or wrong.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class SwapStressIT {
    private static final int SWAPS = 50;
    /** Long enough that fifty swaps are over well before the guest is. */
    private static final List<String> WORKLOAD = SwapKit.workloadArguments(5, 2);
    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    /** The run without swaps, made once for every test of the class. */
    private static SwapKit.Finished reference;

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    private synchronized SwapKit.Finished reference() throws Exception {
        if (reference == null) {
            reference = SwapKit.referenceRun(launcher, WORKLOAD, TIMEOUT);
        }
        return reference;
    }

    @Test
    public void cpu() throws Exception {
        stress("lguest-x86-jit");
    }

    @Test
    public void shadowPageTables() throws Exception {
        stress("lguest-pagetable");
    }

    @Test
    public void segments() throws Exception {
        stress("lguest-segments");
    }

    @Test
    public void traps() throws Exception {
        stress("lguest-traps");
    }

    @Test
    public void hypercalls() throws Exception {
        stress("lguest-hypercalls");
    }

    @Test
    public void switcher() throws Exception {
        stress("lguest-switcher");
    }

    @Test
    public void lguestDevice() throws Exception {
        stress("lguest-device");
    }

    @Test
    public void virtioConsole() throws Exception {
        stress("lguest-virtio-console");
    }

    @Test
    public void virtioBlock() throws Exception {
        stress("lguest-virtio-block");
    }

    private void stress(String bundle) throws Exception {
        SwapKit.Finished expected = reference();
        SwapKit.Finished got;
        try (SwapKit.Alternation copies = new SwapKit.Alternation(context, bundle);
             SwapKit.Run run = SwapKit.boot(launcher, WORKLOAD)) {
            Guest guest = run.awaitGuest();
            // Past the boot and into the self-test, so the swaps fall on real work.
            run.awaitOutput("ok 1 ", Duration.ofSeconds(60));
            for (int i = 0; i < SWAPS; i++) {
                copies.swap();
                assertFalse("the guest died at swap " + (i + 1) + ": " + guest.deadReason() + "\n" + run.output(),
                        guest.isDead());
                // Let the guest run a little on each copy, so every swap finds it busy.
                Thread.sleep(5);
            }
            assertTrue("the workload must outlast the swaps; make it longer",
                    run.session().await(Duration.ZERO).isEmpty());
            got = run.finish(TIMEOUT);
        }
        assertTrue(got.outcome().reason() + "\n" + got.console(), got.outcome().poweredOff());
        assertEquals("the console, as without swaps", expected.console(), got.console());
        assertArrayEquals("the disk, as without swaps", expected.disk(), got.disk());
    }
}
