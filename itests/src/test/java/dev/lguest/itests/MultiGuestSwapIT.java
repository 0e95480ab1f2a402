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
import java.util.ArrayList;
import java.util.List;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * Swaps under several guests at once. A component is shared by every guest of the
 * framework, so replacing it must move all of them, each at its own instruction
 * boundary, each with its own state: one guest's CPU registers, page tables or virtio
 * queue positions must never end up in another. Three guests run the test kernel's
 * self-test loop with a virtio block write-and-verify, each on its own disk, while
 * every component in turn is swapped {@value #SWAPS_PER_COMPONENT} times (two
 * installed copies, alternating).
 *
 * The guests loop until they are stopped (loop=0), so every swap falls while all three
 * run however fast the CPU is against the swaps (a fixed number of passes once ended
 * before the swaps did, when the translator became the default CPU). After the last
 * swap each guest must finish one more whole pass, and is then stopped: its first pass
 * must print exactly what the same pass prints in a guest running alone without swaps,
 * every later pass must pass every test, every block pass must report the CRC the host
 * computes for it, and every sector of its disk must hold a block pattern no older than
 * the last pass it reported.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class MultiGuestSwapIT {
    private static final int GUESTS = 3;
    /** Even, so that each component ends on the build's own copy. */
    private static final int SWAPS_PER_COMPONENT = 10;
    /** Self-test passes with two block passes each: until stopped while swapping, one pass alone. */
    private static final int BLOCK_PASSES = 2;
    private static final List<String> WORKLOAD = SwapKit.workloadArguments(0, BLOCK_PASSES);
    private static final List<String> ALONE = SwapKit.workloadArguments(1, BLOCK_PASSES);
    private static final Duration TIMEOUT = Duration.ofMinutes(6);

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    @Test
    public void everyComponentIsSwappedUnderThreeGuestsAndEachRunsAsAlone() throws Exception {
        SwapKit.Finished expected;
        try (SwapKit.Run alone = SwapKit.boot(launcher, ALONE)) {
            expected = alone.finish(TIMEOUT);
        }
        assertTrue(expected.outcome().reason(), expected.outcome().poweredOff());
        assertTrue("the run alone passed every test:\n" + expected.console(), expected.console().contains("failed 0"));

        List<SwapKit.Run> runs = new ArrayList<>();
        try {
            List<Guest> guests = new ArrayList<>();
            for (int i = 0; i < GUESTS; i++) {
                SwapKit.Run run = SwapKit.boot(launcher, WORKLOAD);
                runs.add(run);
                guests.add(run.awaitGuest());
            }
            for (SwapKit.Run run : runs) {
                run.awaitOutput("ok 1 ", Duration.ofSeconds(90));
            }
            for (SwapKit.Component component : SwapKit.COMPONENTS) {
                try (SwapKit.Alternation copies = new SwapKit.Alternation(context, component.bundle())) {
                    for (int i = 0; i < SWAPS_PER_COMPONENT; i++) {
                        copies.swap();
                        for (int g = 0; g < GUESTS; g++) {
                            assertFalse("guest " + g + " died at swap " + (i + 1) + " of the " + component.label()
                                    + ": " + guests.get(g).deadReason() + "\n" + runs.get(g).output(),
                                    guests.get(g).isDead());
                        }
                        Thread.sleep(5);
                    }
                }
            }
            for (int g = 0; g < GUESTS; g++) {
                assertFalse("guest " + g + ": " + guests.get(g).deadReason(), guests.get(g).isDead());
                SwapKit.assertRanAsAlone("guest " + g, expected, runs.get(g).stopAfterOneMorePass(TIMEOUT), BLOCK_PASSES);
            }
        } finally {
            for (SwapKit.Run run : runs) {
                run.close();
            }
        }
    }
}
