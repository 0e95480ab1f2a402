/*
 * Replacing a component under a running guest, from a test inside the framework:
 * find the bundle that provides a service, install another (a second copy of the same
 * bundle, or a spare implementation the build named with LguestBuild.withSpare), and
 * pull the first out while the guest runs.
 *
 *   Bundle simple = ComponentSwap.replace(context, ShadowPageTables.class, "lguest-pagetable-simple");
 *
 * The framework learns where each bundle came from through the system properties
 * LguestBuild sets (lguest.exam.bundle.<name>). A replace is recorded as a
 * dev.lguest.ComponentSwap event for JDK Flight Recorder, as lguest:swap's are.
 */
package dev.lguest.exam;

import dev.lguest.api.events.ComponentSwapEvent;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.ServiceReference;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Duration;

public final class ComponentSwap {
    private static final Duration PROVIDER_WAIT = Duration.ofSeconds(30);

    private ComponentSwap() {
    }

    /** The bundle providing {@code service} now (the highest ranked, as DS would bind). */
    public static Bundle providerOf(BundleContext context, Class<?> service) {
        ServiceReference<?> ref = context.getServiceReference(service);
        if (ref == null) {
            throw new AssertionError("no " + service.getName() + " service is registered");
        }
        return ref.getBundle();
    }

    /** Where the build installed (or keeps as a spare) the bundle with this symbolic name. */
    public static String locationOf(String symbolicName) {
        String location = System.getProperty(LguestBuild.LOCATION_PROPERTY + symbolicName);
        if (location == null) {
            throw new AssertionError("the build does not know " + symbolicName
                    + " (name it in the build, or with LguestBuild.withSpare)");
        }
        return location;
    }

    /** Installs and starts a bundle of the build by symbolic name, as one more copy. */
    public static Bundle installAndStart(BundleContext context, String symbolicName)
            throws IOException, BundleException {
        String location = locationOf(symbolicName);
        if (location.startsWith("reference:")) {
            throw new AssertionError(symbolicName + " is a class directory (" + location
                    + "); a swap needs its jar: run the tests from Maven after `package`");
        }
        Bundle bundle;
        try (InputStream in = URI.create(location).toURL().openStream()) {
            // A location of its own, so that a second copy of an installed bundle is allowed.
            bundle = context.installBundle(location + "#copy-" + System.nanoTime(), in);
        }
        bundle.start();
        return bundle;
    }

    /** Installs and starts a second copy of the bundle that provides {@code service}. */
    public static Bundle startSecondCopy(BundleContext context, Class<?> service)
            throws IOException, BundleException {
        return installAndStart(context, providerOf(context, service).getSymbolicName());
    }

    /**
     * Replaces the provider of {@code service} with the bundle {@code replacement}
     * (a symbolic name the build knows): starts it, uninstalls the old provider, and
     * waits until the service comes from the new one. Returns the new bundle.
     */
    public static Bundle replace(BundleContext context, Class<?> service, String replacement)
            throws IOException, BundleException, InterruptedException {
        ComponentSwapEvent event = new ComponentSwapEvent();
        event.begin();
        Bundle original = providerOf(context, service);
        Bundle next = installAndStart(context, replacement);
        original.uninstall();
        awaitProvider(context, service, next, PROVIDER_WAIT);
        if (event.shouldCommit()) {
            event.service = service.getName();
            event.fromBundle = describe(original);
            event.toBundle = describe(next);
            event.succeeded = true;
            event.outcome = "replaced by the exam kit";
            event.commit();
        }
        return next;
    }

    private static String describe(Bundle b) {
        return b.getBundleId() + " (" + b.getSymbolicName() + " " + b.getVersion() + ")";
    }

    /** Waits until {@code bundle} provides {@code service}. */
    public static void awaitProvider(BundleContext context, Class<?> service, Bundle bundle, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            ServiceReference<?> ref = context.getServiceReference(service);
            if (ref != null && ref.getBundle() == bundle) {
                return;
            }
            if (System.nanoTime() - deadline >= 0) {
                throw new AssertionError(bundle.getSymbolicName() + " did not come to provide "
                        + service.getSimpleName() + " in " + timeout);
            }
            Thread.sleep(5);
        }
    }

    /** Waits until a guest is past its boot and running (it exists and is not dead). */
    public static void awaitRunning(GuestRun run, Duration timeout) throws InterruptedException {
        if (run.awaitGuest(timeout).isDead()) {
            throw new AssertionError("the guest died: " + run.output());
        }
    }
}
