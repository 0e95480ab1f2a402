package dev.lguest.itests;

import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.switcher.Switcher;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.wiring.FrameworkWiring;

import javax.inject.Inject;
import java.io.FileInputStream;
import java.io.InputStream;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

/**
 * Updating a component bundle in place a hundred times leaks nothing: every old
 * revision's class loader can be collected once the framework is refreshed, and no
 * thread an old revision started is still running (the switcher has a clock thread).
 * After it all, the platform still boots a guest.
 *
 * The CPU is updated under a running guest, the likeliest leak: a guest holds its CPU,
 * and a CPU's registers must move to the new revision's CPU at every update. While the
 * guest still runs, it must be on the current revision's CPU; once it stops, every old
 * loader must go, so nothing the guest kept (its CPU, a parked state, a stale
 * reference in the switcher) may point into an old revision. A thread still running
 * old code would hold its loader too (a running method's class is reachable from the
 * thread's stack), so cleared references also say that no thread of an old revision
 * is left.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class BundleUpdateLeakIT {
    private static final int UPDATES = 100;

    @Inject
    private BundleContext context;

    @Inject
    private dev.lguest.api.launcher.GuestLauncher launcher;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    @Test
    public void segmentsUpdatedAHundredTimesLeaveNoClassLoaderBehind() throws Exception {
        assertNoLeakAfterUpdates("lguest-segments", SegmentManager.class);
    }

    @Test
    public void theSwitcherUpdatedAHundredTimesLeavesNoClassLoaderOrThreadBehind() throws Exception {
        // The test kernel sets the clock, so the first switcher revision has a live
        // timer thread that its deactivation must end.
        Guests.Run kernel = Guests.boot(launcher, Guests.image("testkernel.elf"), 32, List.of());
        assertTrue(kernel.awaitEnd(java.time.Duration.ofMinutes(2)).poweredOff());
        assertTrue("the clock thread ran", Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals("lguest-clock")));

        assertNoLeakAfterUpdates("lguest-switcher", Switcher.class);
        long clocks = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("lguest-clock") && t.isAlive()).count();
        assertTrue("at most the current switcher's clock thread runs, found " + clocks, clocks <= 1);
    }

    @Test
    public void theCpuUpdatedAHundredTimesUnderARunningGuestLeavesNoClassLoaderBehind() throws Exception {
        List<WeakReference<ClassLoader>> oldLoaders;
        // loop=0: the test kernel's self-test runs until it is stopped.
        try (SwapKit.Run run = SwapKit.boot(launcher, SwapKit.workloadArguments(0, 1))) {
            Guest guest = run.awaitGuest();
            run.awaitOutput("ok 1 ", Duration.ofSeconds(60));
            oldLoaders = updateRepeatedly("lguest-x86-jit", X86CpuFactory.class);
            assertFalse("the guest lived through the updates: " + guest.deadReason() + "\n" + run.output(),
                    guest.isDead());
            assertFalse("the self-test passed throughout:\n" + run.output(), run.output().contains("not ok"));
            long instructions = guest.statistics.instructions();
            // Still running, on the last revision's CPU.
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (guest.statistics.instructions() == instructions && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertTrue("the guest runs on after the updates", guest.statistics.instructions() > instructions);
            assertSame("its CPU is the current revision's", implementationLoader(X86CpuFactory.class),
                    guest.cpu() == null ? null : guest.cpu().getClass().getClassLoader());
        }
        // Collected once the guest that ran on them has stopped. Checked before that,
        // the loader of the revision the guest started on often stayed, yet a heap
        // dump taken then showed it reachable from no root in the Java heap: nothing
        // in the platform held it, the JVM did, for the running guest thread (it goes
        // the moment the guest stops).
        assertCollected(oldLoaders);
        Guests.Run run = Guests.bootDemo(launcher, List.of());
        assertTrue(run.awaitEnd(java.time.Duration.ofSeconds(60)).poweredOff());
    }

    private void assertNoLeakAfterUpdates(String artifact, Class<?> service) throws Exception {
        assertCollected(updateRepeatedly(artifact, service));
        Guests.Run run = Guests.bootDemo(launcher, List.of());
        assertTrue(run.awaitEnd(java.time.Duration.ofSeconds(60)).poweredOff());
    }

    /** Updates the provider of {@code service} in place {@link #UPDATES} times; weak references to the old loaders. */
    private List<WeakReference<ClassLoader>> updateRepeatedly(String artifact, Class<?> service) throws Exception {
        Bundle bundle = BundleSwap.providerOf(context, service);
        List<WeakReference<ClassLoader>> oldLoaders = new ArrayList<>();
        for (int i = 0; i < UPDATES; i++) {
            oldLoaders.add(new WeakReference<>(implementationLoader(service)));
            try (InputStream in = new FileInputStream(DefaultBuild.bundleFile(artifact))) {
                bundle.update(in);
            }
            refresh(bundle);
        }
        assertNotNull("the component is back after the updates", implementationLoader(service));
        return oldLoaders;
    }

    private static void assertCollected(List<WeakReference<ClassLoader>> oldLoaders) throws InterruptedException {
        // Collect until every old loader is gone, or give up after a while.
        for (int attempt = 0; attempt < 50 && oldLoaders.stream().anyMatch(r -> r.get() != null); attempt++) {
            System.gc();
            Thread.sleep(20);
        }
        List<Integer> alive = new ArrayList<>();
        for (int i = 0; i < oldLoaders.size(); i++) {
            if (oldLoaders.get(i).get() != null) {
                alive.add(i);
            }
        }
        assertEquals("old class loaders still reachable after " + UPDATES + " updates (by update index)",
                List.of(), alive);
    }

    private ClassLoader implementationLoader(Class<?> service) {
        ServiceReference<?> ref = context.getServiceReference(service);
        Object implementation = context.getService(ref);
        try {
            return implementation.getClass().getClassLoader();
        } finally {
            context.ungetService(ref);
        }
    }

    private void refresh(Bundle bundle) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        context.getBundle(0).adapt(FrameworkWiring.class).refreshBundles(List.of(bundle), event -> {
            if (event.getType() == FrameworkEvent.PACKAGES_REFRESHED) {
                done.countDown();
            }
        });
        assertTrue("the framework refreshed", done.await(30, TimeUnit.SECONDS));
    }
}
