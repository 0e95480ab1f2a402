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

import static org.junit.Assert.assertFalse;

/**
 * Swap stress: each component is replaced fifty times while one guest runs the test
 * kernel's self-test loop with a virtio block write-and-verify in every pass, by
 * alternating two installed copies of its bundle. The guest loops until it is stopped
 * (loop=0), so every swap falls while it runs however fast the CPU is against the
 * swaps (five passes once ended at swap 48 on a loaded machine). After the last swap
 * it must finish one more whole pass, and is then stopped: its first pass must print
 * exactly what a run of one pass without swaps prints, every later pass must pass
 * every test, every block pass must report the CRC the host computes for it, and
 * every sector of its disk must hold a block pattern no older than the last pass it
 * reported (SwapKit.assertRanAsAlone): nothing lost, nothing written twice or wrong.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class SwapStressIT {
    private static final int SWAPS = 50;
    /** Self-test passes with two block passes each: until stopped while swapping, one pass alone. */
    private static final int BLOCK_PASSES = 2;
    private static final List<String> WORKLOAD = SwapKit.workloadArguments(0, BLOCK_PASSES);
    private static final List<String> ALONE = SwapKit.workloadArguments(1, BLOCK_PASSES);
    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    /** The one pass without swaps, made once for every test of the class. */
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
            reference = SwapKit.referenceRun(launcher, ALONE, TIMEOUT);
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
            got = run.stopAfterOneMorePass(TIMEOUT);
        }
        SwapKit.assertRanAsAlone(bundle, expected, got, BLOCK_PASSES);
    }
}
