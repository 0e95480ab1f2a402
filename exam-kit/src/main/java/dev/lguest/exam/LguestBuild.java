/*
 * An lguest build as Pax Exam options: the default build, or a variant of it.
 *
 *   @Configuration
 *   public Option[] config() {
 *       return LguestBuild.defaultBuild()
 *               .without("lguest-virtio-block")
 *               .replacing("lguest-pagetable", "lguest-pagetable-simple")
 *               .options();
 *   }
 *
 * Bundles are named by symbolic name (the same names a .bndrun lists) and found on
 * the test class path, where depending on the kit puts them; a bundle of your own is
 * added by file. The options also put JUnit and this kit into the framework (the test
 * probe uses GuestRun and ComponentSwap from there), allow two copies of a bundle (for
 * swap tests) and tell ComponentSwap where each bundle came from.
 *
 * Instances never change: each method returns a new build, so a constant is safe.
 * This class runs in the test driver, outside the framework.
 */
package dev.lguest.exam;

import org.ops4j.pax.exam.CoreOptions;
import org.ops4j.pax.exam.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

public final class LguestBuild {
    /**
     * What every build runs on (cnf/run/platform.bnd's platform.runbundles, less Gogo):
     * Declarative Services and what it needs, ConfigAdmin, and Metatype with the Log API it needs.
     */
    static final List<String> PLATFORM = List.of(
            "org.osgi.util.function", "org.osgi.util.promise", "org.osgi.service.component", "org.apache.felix.scr",
            "org.apache.felix.configadmin", "org.osgi.service.log", "org.apache.felix.metatype");
    /**
     * The default build's components, in the order of cnf/run/platform.bnd's roles. The
     * CPU is the translator; {@code replacing("lguest-x86-jit", "lguest-x86-cpu")} puts
     * the interpreter in its place (launcher-bundle/lguest-interpreter.bndrun).
     */
    static final List<String> DEFAULT_COMPONENTS = List.of(
            "lguest-api", "lguest-x86-jit", "lguest-pagetable", "lguest-segments", "lguest-traps",
            "lguest-hypercalls", "lguest-switcher", "lguest-device", "lguest-virtio-console", "lguest-virtio-block",
            "lguest-virtio-net", "lguest-net-switch", "lguest-net-tap",
            "lguest-net-socket", "lguest-observability", "lguest-debugger", "lguest-launcher");
    /**
     * Packages the framework takes from the JDK whoever asks (org.osgi.framework.bootdelegation,
     * as cnf/run/platform.bnd's platform.runproperties): the code JFR adds to event classes
     * calls into jdk.jfr.internal.event, which no bundle imports.
     */
    static final String JDK_DELEGATION = "jdk.jfr.internal.event";
    /** System property prefix under which the framework learns where each bundle came from. */
    static final String LOCATION_PROPERTY = "lguest.exam.bundle.";
    private static final String LOCAL_REPOSITORY = "org.ops4j.pax.url.mvn.localRepository";

    private final List<String> components;
    private final List<String> spares;
    private final List<Path> ownBundles;

    private LguestBuild(List<String> components, List<String> spares, List<Path> ownBundles) {
        this.components = List.copyOf(components);
        this.spares = List.copyOf(spares);
        this.ownBundles = List.copyOf(ownBundles);
    }

    /** The build ./lguest runs (launcher-bundle/lguest.bndrun), less the Gogo shell. */
    public static LguestBuild defaultBuild() {
        return new LguestBuild(DEFAULT_COMPONENTS, List.of(), List.of());
    }

    /** This build without one of its components, e.g. "lguest-virtio-block". */
    public LguestBuild without(String symbolicName) {
        requireComponent(symbolicName);
        List<String> fewer = new ArrayList<>(components);
        fewer.remove(symbolicName);
        return new LguestBuild(fewer, spares, ownBundles);
    }

    /** This build with another bundle in a component's place, e.g. a second MMU. */
    public LguestBuild replacing(String symbolicName, String replacement) {
        requireComponent(symbolicName);
        List<String> swapped = new ArrayList<>(components);
        swapped.set(swapped.indexOf(symbolicName), replacement);
        return new LguestBuild(swapped, spares, ownBundles);
    }

    /** This build plus a bundle found on the test class path by symbolic name. */
    public LguestBuild with(String symbolicName) {
        List<String> more = new ArrayList<>(components);
        more.add(symbolicName);
        return new LguestBuild(more, spares, ownBundles);
    }

    /** This build plus a bundle of your own: a jar, or a class directory with a bundle manifest. */
    public LguestBuild withBundle(Path jarOrDirectory) {
        if (!Files.exists(jarOrDirectory)) {
            throw new IllegalArgumentException("lguest exam kit: no bundle at " + jarOrDirectory.toAbsolutePath());
        }
        List<Path> more = new ArrayList<>(ownBundles);
        more.add(jarOrDirectory.toAbsolutePath());
        return new LguestBuild(components, spares, more);
    }

    /**
     * A bundle not installed at start, but which ComponentSwap.installSpare can install
     * while the test runs (to swap it in under a guest).
     */
    public LguestBuild withSpare(String symbolicName) {
        List<String> more = new ArrayList<>(spares);
        more.add(symbolicName);
        return new LguestBuild(components, more, ownBundles);
    }

    /** The lguest components this build installs, by symbolic name, in order. */
    public List<String> components() {
        return components;
    }

    /** The Pax Exam options that start this build (return them from @Configuration). */
    public Option[] options() {
        List<Option> options = new ArrayList<>();
        // Two copies of one bundle may be installed at once: swap tests need that.
        options.add(CoreOptions.frameworkProperty("org.osgi.framework.bsnversion").value("multiple"));
        options.add(CoreOptions.frameworkProperty("org.osgi.framework.bootdelegation").value(JDK_DELEGATION));
        String localRepository = System.getProperty(LOCAL_REPOSITORY);
        if (localRepository != null) {
            options.add(CoreOptions.systemProperty(LOCAL_REPOSITORY).value(localRepository));
        }
        options.add(CoreOptions.junitBundles());
        for (String name : PLATFORM) {
            options.add(CoreOptions.bundle(BundleLocator.locate(name)));
        }
        for (String name : components) {
            String location = BundleLocator.locate(name);
            options.add(CoreOptions.bundle(location));
            options.add(CoreOptions.systemProperty(LOCATION_PROPERTY + name).value(location));
        }
        for (String name : spares) {
            options.add(CoreOptions.systemProperty(LOCATION_PROPERTY + name).value(BundleLocator.locate(name)));
        }
        for (Path own : ownBundles) {
            options.add(CoreOptions.bundle((Files.isDirectory(own) ? "reference:" : "") + own.toUri()));
        }
        options.add(CoreOptions.bundle(kitLocation()));
        return options.toArray(Option[]::new);
    }

    /** The same options as one, to combine with a test's own. */
    public Option option() {
        return CoreOptions.composite(options());
    }

    private void requireComponent(String symbolicName) {
        if (!components.contains(symbolicName)) {
            throw new IllegalArgumentException("lguest exam kit: the build has no " + symbolicName
                    + "; it has " + components);
        }
    }

    /** Where this kit's own bundle is: its jar, or its class directory when run from an IDE. */
    private static String kitLocation() {
        return BundleLocator.find("lguest-exam-kit").orElseGet(() -> {
            try {
                Path here = Path.of(LguestBuild.class.getProtectionDomain().getCodeSource().getLocation().toURI());
                return (Files.isDirectory(here) ? "reference:" : "") + here.toUri();
            } catch (java.net.URISyntaxException e) {
                throw new IllegalStateException("lguest exam kit: cannot tell where the kit is", e);
            }
        });
    }
}
