/*
 * Every component swapped at once, each by a thread of its own, under one running
 * guest: overlapping swaps, where one component's gap, hand-over or migration falls
 * inside another's. Part of `./mvnw verify` in a bounded form (one round of 20 swaps
 * per component, about a minute); more rounds in one JVM, for hunting rare failures:
 *
 *   ./mvnw -B verify -pl itests -am -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
 *       -Dit.test=ConcurrentSwapIT [-Dlguest.concurrent.rounds=50] [-Dlguest.concurrent.swaps=20] \
 *       [-Dlguest.concurrent.only=lguest-x86-jit,lguest-switcher]
 */
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
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertEquals;

/**
 * Overlapping swaps: a turn that waits out one component's gap while another goes, a
 * CPU that moves while the switcher changes, a device handed over while /dev/lguest is
 * replaced. The verdict is SwapStressIT's: the guest loops until stopped (loop=0), and
 * after the swaps and one more whole pass it must have run as one pass alone does.
 * Each round is a new guest; every round is run and the failed ones are reported together.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ConcurrentSwapIT {
    /** Swaps per component in a round. */
    private static final int CONCURRENT_SWAPS = Integer.getInteger("lguest.concurrent.swaps", 20);
    /** Rounds, each a guest of its own under its own swaps. */
    private static final int ROUNDS = Integer.getInteger("lguest.concurrent.rounds", 1);
    private static final int BLOCK_PASSES = 2;
    private static final List<String> WORKLOAD = SwapKit.workloadArguments(0, BLOCK_PASSES);
    private static final List<String> ALONE = SwapKit.workloadArguments(1, BLOCK_PASSES);
    private static final Duration TIMEOUT = Duration.ofMinutes(3);

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    /** Every component (or those named by lguest.concurrent.only) swapped at once, round after round. */
    @Test
    public void everyComponentAtOnce() throws Exception {
        SwapKit.Finished expected = SwapKit.referenceRun(launcher, ALONE, TIMEOUT);
        List<String> failures = new ArrayList<>();
        for (int round = 1; round <= ROUNDS; round++) {
            String failure = round(expected);
            System.out.println("ConcurrentSwapIT round " + round + " of " + ROUNDS + ": "
                    + (failure == null ? "ok" : "FAILED: " + failure.lines().findFirst().orElse("")));
            if (failure != null) {
                failures.add("round " + round + ": " + failure);
            }
        }
        assertEquals(failures.size() + " of " + ROUNDS + " rounds failed:\n" + String.join("\n\n", failures),
                0, failures.size());
    }

    /** One guest under every swapper; null if it ran as the reference did, else what went wrong. */
    private String round(SwapKit.Finished expected) throws Exception {
        SwapKit.Finished got;
        List<SwapKit.Alternation> copies = new ArrayList<>();
        try {
            String only = System.getProperty("lguest.concurrent.only", "");
            for (SwapKit.Component c : SwapKit.COMPONENTS) {
                if (only.isEmpty() || Arrays.asList(only.split(",")).contains(c.bundle())) {
                    copies.add(new SwapKit.Alternation(context, c.bundle()));
                }
            }
            try (SwapKit.Run run = SwapKit.boot(launcher, WORKLOAD)) {
                Guest guest = run.awaitGuest();
                run.awaitOutput("ok 1 ", Duration.ofSeconds(60));
                ExecutorService swappers = Executors.newFixedThreadPool(copies.size());
                try {
                    List<Future<?>> done = new ArrayList<>();
                    for (SwapKit.Alternation a : copies) {
                        done.add(swappers.submit(() -> {
                            for (int i = 0; i < CONCURRENT_SWAPS && !guest.isDead(); i++) {
                                a.swap();
                                Thread.sleep(ThreadLocalRandom.current().nextInt(1, 10));
                            }
                            return null;
                        }));
                    }
                    for (Future<?> f : done) {
                        f.get(2, TimeUnit.MINUTES);
                    }
                } finally {
                    swappers.shutdownNow();
                }
                if (guest.isDead()) {
                    return "the guest died: " + guest.deadReason() + "\n" + run.output();
                }
                got = run.stopAfterOneMorePass(TIMEOUT);
            }
        } finally {
            for (SwapKit.Alternation a : copies) {
                a.close();
            }
        }
        try {
            SwapKit.assertRanAsAlone("the guest under swaps", expected, got, BLOCK_PASSES);
        } catch (AssertionError failure) {
            return failure.getMessage();
        }
        return null;
    }
}
