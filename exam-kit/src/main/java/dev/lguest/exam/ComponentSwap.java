/*
 * Replacing a component under a running guest, from a test inside the framework:
 * find the bundle that provides a service, install another (a second copy of the same
 * bundle, or a spare implementation the build named with LguestBuild.withSpare), and
 * pull the first out while the guest runs.
 *
 *   Bundle simple = ComponentSwap.replace(context, ShadowPageTables.class, "lguest-pagetable-simple");
 *
 * Or update the provider in place (Bundle.update and a refresh), the way an operator
 * ships a fix:
 *
 *   ComponentSwap.updateInPlace(context, SegmentManager.class, newJar);
 *
 * A swap that cannot complete leaves the old implementation running and says why: a
 * replacement that does not start, or starts without offering the service, is
 * uninstalled before the old provider is touched; an update whose new revision does
 * not start (it cannot resolve, or its component fails) is rolled back to the
 * content it had, and the guests, parked through the gap, carry on with it.
 *
 * The framework learns where each bundle came from through the system properties
 * LguestBuild sets (lguest.exam.bundle.<name>). A swap is recorded as a
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
        try {
            bundle.start();
        } catch (BundleException | RuntimeException e) {
            // A copy that cannot start is not left lying about.
            bundle.uninstall();
            throw e;
        }
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
        Bundle next;
        try {
            next = installAndStart(context, replacement);
        } catch (BundleException | RuntimeException e) {
            record(event, service, original, null, false, "did not start: " + e.getMessage());
            throw new SwapFailed(replacement + " did not start (" + e.getMessage()
                    + "); " + original.getSymbolicName() + " keeps running", e);
        }
        // The old provider goes only once the new one offers the service.
        if (!awaitRegistered(next, service, PROVIDER_WAIT)) {
            next.uninstall();
            String why = replacement + " started but offered no " + service.getSimpleName() + " in " + PROVIDER_WAIT;
            record(event, service, original, null, false, why);
            throw new SwapFailed(why + "; " + original.getSymbolicName() + " keeps running", null);
        }
        original.uninstall();
        awaitProvider(context, service, next, PROVIDER_WAIT);
        record(event, service, original, next, true, "replaced by the exam kit");
        return next;
    }

    /**
     * Updates the provider of {@code service} in place from {@code newContent} and
     * refreshes it. If the new revision does not start, or does not come to offer the
     * service, the bundle is updated back to the content it had and refreshed again,
     * and {@link SwapFailed} says why. Returns the updated bundle.
     */
    public static Bundle updateInPlace(BundleContext context, Class<?> service, InputStream newContent)
            throws IOException, BundleException, InterruptedException {
        ComponentSwapEvent event = new ComponentSwapEvent();
        event.begin();
        Bundle bundle = providerOf(context, service);
        String from = describe(bundle);
        // The content to roll back to, read before anything is touched.
        byte[] previous;
        try (InputStream in = URI.create(bundle.getLocation()).toURL().openStream()) {
            previous = in.readAllBytes();
        } catch (IOException | IllegalArgumentException e) {
            throw new SwapFailed(bundle.getSymbolicName() + " was not updated: its content at " + bundle.getLocation()
                    + " cannot be kept to roll back to (" + e.getMessage() + ")", e);
        }
        String problem = null;
        Throwable cause = null;
        try {
            bundle.update(newContent);
            refresh(context, bundle);
            if (bundle.getState() != Bundle.ACTIVE) {
                // The refresh restarts what was active; a start that fails there is
                // only a framework event, so look.
                bundle.start();
            }
            if (!awaitRegistered(bundle, service, PROVIDER_WAIT)) {
                problem = "the new revision offered no " + service.getSimpleName() + " in " + PROVIDER_WAIT;
            }
        } catch (BundleException | RuntimeException e) {
            problem = "the new revision did not start: " + e.getMessage();
            cause = e;
        }
        if (problem == null) {
            awaitProvider(context, service, bundle, PROVIDER_WAIT);
            record(event, service, from, describe(bundle), true, "updated in place by the exam kit");
            return bundle;
        }
        // Back to what ran before: the same content, so the same implementation.
        bundle.update(new java.io.ByteArrayInputStream(previous));
        refresh(context, bundle);
        if (bundle.getState() != Bundle.ACTIVE) {
            bundle.start();
        }
        awaitProvider(context, service, bundle, PROVIDER_WAIT);
        record(event, service, from, from, false, problem + "; rolled back");
        throw new SwapFailed(bundle.getSymbolicName() + ": " + problem
                + "; rolled back, the old implementation keeps running", cause);
    }

    /** A swap that did not happen; the old implementation is still the one running. */
    public static final class SwapFailed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        SwapFailed(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Refreshes {@code bundle} (and what is wired to it), waiting until the framework is done. */
    public static void refresh(BundleContext context, Bundle bundle) throws InterruptedException {
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        context.getBundle(0).adapt(org.osgi.framework.wiring.FrameworkWiring.class)
                .refreshBundles(java.util.List.of(bundle), e -> {
                    if (e.getType() == org.osgi.framework.FrameworkEvent.PACKAGES_REFRESHED) {
                        done.countDown();
                    }
                });
        if (!done.await(PROVIDER_WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)) {
            throw new AssertionError("the framework did not refresh " + bundle.getSymbolicName());
        }
    }

    /** Whether {@code bundle} registers a {@code service} within the timeout. */
    private static boolean awaitRegistered(Bundle bundle, Class<?> service, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        do {
            ServiceReference<?>[] registered = bundle.getState() == Bundle.ACTIVE ? bundle.getRegisteredServices() : null;
            if (registered != null) {
                for (ServiceReference<?> ref : registered) {
                    for (String name : (String[]) ref.getProperty(org.osgi.framework.Constants.OBJECTCLASS)) {
                        if (name.equals(service.getName())) {
                            return true;
                        }
                    }
                }
            }
            Thread.sleep(5);
        } while (System.nanoTime() - deadline < 0);
        return false;
    }

    private static void record(ComponentSwapEvent event, Class<?> service, Bundle from, Bundle to,
                               boolean succeeded, String outcome) {
        record(event, service, describe(from), to == null ? null : describe(to), succeeded, outcome);
    }

    private static void record(ComponentSwapEvent event, Class<?> service, String from, String to,
                               boolean succeeded, String outcome) {
        if (event.shouldCommit()) {
            event.service = service.getName();
            event.fromBundle = from;
            event.toBundle = to;
            event.succeeded = succeeded;
            event.outcome = outcome;
            event.commit();
        }
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
