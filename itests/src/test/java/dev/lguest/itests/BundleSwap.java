package dev.lguest.itests;

import dev.lguest.api.guest.Guest;
import dev.lguest.exam.ComponentSwap;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.FrameworkUtil;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;

/**
 * The moves of a swap test: find the bundle providing a service, install and start a
 * second copy of a component bundle from the reactor, and wait for a guest to be
 * busy computing before the first copy is pulled out from under it, and see which
 * CPU a guest runs on. Finding the provider is the exam kit's ComponentSwap.providerOf.
 */
final class BundleSwap {
    private BundleSwap() {
    }

    static Bundle providerOf(BundleContext context, Class<?> service) {
        return ComponentSwap.providerOf(context, service);
    }

    /** Installs and starts a second copy of {@code artifact} (the framework allows duplicates). */
    static Bundle startSecondCopy(BundleContext context, String artifact) throws IOException, BundleException {
        Bundle copy;
        try (InputStream in = new FileInputStream(DefaultBuild.bundleFile(artifact))) {
            copy = context.installBundle(artifact + "-second-copy", in);
        }
        copy.start();
        return copy;
    }

    /**
     * The bundle whose CPU the guest runs on, once it is {@code expected}'s, or after 10 s
     * (a CPU factory's unbind moves its guests at their next instruction boundary).
     */
    static Bundle awaitCpuFrom(Guest guest, Bundle expected) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        Bundle current = null;
        while (System.nanoTime() < deadline) {
            Object maker = guest.cpuMaker;
            current = maker == null ? null : FrameworkUtil.getBundle(maker.getClass());
            if (current == expected || guest.isDead()) {
                break;
            }
            Thread.sleep(1);
        }
        return current;
    }

    /** Waits until the demo guest has said hello and is into its checksum loop. */
    static void awaitComputing(Guests.Run run) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (run.output().startsWith(Guests.HELLO) && run.session().guest().isPresent()) {
                return;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("the guest never started; it printed: " + run.output());
    }
}
