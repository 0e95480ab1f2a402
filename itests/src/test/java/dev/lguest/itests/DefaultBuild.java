package dev.lguest.itests;

import org.ops4j.pax.exam.Option;

import java.io.File;

import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.composite;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

/**
 * The default lguest build as Pax Exam options: the same bundles lguest.bndrun runs,
 * taken from this reactor (copied to target/bundles by the build).
 */
final class DefaultBuild {
    /** The lguest components, in the order a build lists them. */
    static final String[] COMPONENTS = {
        "lguest-api", "lguest-x86-cpu", "lguest-pagetable", "lguest-segments", "lguest-traps",
        "lguest-hypercalls", "lguest-switcher", "lguest-device", "lguest-virtio-console", "lguest-virtio-block",
        "lguest-launcher",
    };
    private static final String[] PLATFORM = {
        "org.osgi.util.function", "org.osgi.util.promise", "org.osgi.service.component", "org.apache.felix.scr",
    };

    private DefaultBuild() {
    }

    static File bundleFile(String artifactId) {
        return new File(System.getProperty("lguest.bundles", "target/bundles"), artifactId + ".jar");
    }

    static Option options() {
        Option[] all = new Option[PLATFORM.length + COMPONENTS.length + 5];
        int i = 0;
        // Two copies of one bundle are allowed: the swap tests install a second CPU.
        all[i++] = frameworkProperty("org.osgi.framework.bsnversion").value("multiple");
        all[i++] = systemProperty("org.ops4j.pax.url.mvn.localRepository")
                .value(System.getProperty("org.ops4j.pax.url.mvn.localRepository", ""));
        all[i++] = systemProperty("lguest.bundles").value(System.getProperty("lguest.bundles", ""));
        all[i++] = systemProperty("lguest.guests").value(System.getProperty("lguest.guests", ""));
        all[i++] = junitBundles();
        for (String b : PLATFORM) {
            all[i++] = bundle(bundleFile(b).toURI().toString());
        }
        for (String b : COMPONENTS) {
            all[i++] = bundle(bundleFile(b).toURI().toString());
        }
        return composite(all);
    }
}
