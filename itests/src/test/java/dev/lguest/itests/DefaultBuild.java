package dev.lguest.itests;

import dev.lguest.exam.LguestBuild;
import org.ops4j.pax.exam.Option;

import java.io.File;

import static org.ops4j.pax.exam.CoreOptions.composite;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

/**
 * The default lguest build as Pax Exam options: the same bundles lguest.bndrun runs
 * (its CPU the translator; or the interpreter in its place, interpreterOptions()),
 * taken from this reactor (copied to target/bundles by the build). A thin wrapper
 * over the exam kit's LguestBuild (which finds the bundles in that directory through
 * the lguest.bundles property), plus the properties this project's tests read.
 */
final class DefaultBuild {
    private DefaultBuild() {
    }

    static File bundleFile(String artifactId) {
        return new File(System.getProperty("lguest.bundles", "target/bundles"), artifactId + ".jar");
    }

    /** The JVM options every build runs with (launcher-bundle/jvm.options) as java's argument file "@path". */
    static String jvmOptionsArgument() {
        return "@" + System.getProperty("lguest.jvm.options", "../launcher-bundle/jvm.options");
    }

    /** The compiler directives ./lguest passes beside jvm.options, as java's option. */
    static String compilerDirectivesArgument() {
        return "-XX:CompilerDirectivesFile=" + System.getProperty("lguest.compiler.directives",
                "../launcher-bundle/compiler-directives.json");
    }

    static Option options() {
        return options(LguestBuild.defaultBuild());
    }

    /**
     * The default build with the interpreter in the translator's place (as
     * launcher-bundle/lguest-interpreter.bndrun), for tests that start a guest on the
     * interpreter on purpose.
     */
    static Option interpreterOptions() {
        return options(LguestBuild.defaultBuild().replacing("lguest-x86-jit", "lguest-x86-cpu"));
    }

    private static Option options(LguestBuild build) {
        return composite(
                build.option(),
                systemProperty("org.ops4j.pax.url.mvn.localRepository")
                        .value(System.getProperty("org.ops4j.pax.url.mvn.localRepository", "")),
                systemProperty("lguest.bundles").value(System.getProperty("lguest.bundles", "")),
                systemProperty("lguest.guests").value(System.getProperty("lguest.guests", "")));
    }
}
