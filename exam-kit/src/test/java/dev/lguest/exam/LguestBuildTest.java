/*
 * The build descriptions: the kit's default build is the one cnf/run/platform.bnd
 * describes (so the two cannot drift apart), variants change only what they say,
 * and every bundle named is found on the class path when the options are made.
 */
package dev.lguest.exam;

import org.junit.jupiter.api.Test;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.options.ProvisionOption;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LguestBuildTest {
    @Test
    void theDefaultBuildHasTheComponentsOfPlatformBnd() throws IOException {
        Path platform = Path.of(System.getProperty("lguest.root", "../"), "cnf/run/platform.bnd");
        List<String> roles = new ArrayList<>();
        Matcher role = Pattern.compile("(?m)^lguest\\.[a-z.]+:\\s+([a-z0-9-]+);version=latest").matcher(
                Files.readString(platform));
        while (role.find()) {
            roles.add(role.group(1));
        }
        assertEquals(roles.stream().sorted().toList(),
                LguestBuild.defaultBuild().components().stream().sorted().toList());
    }

    @Test
    void variantsChangeOnlyWhatTheySay() {
        LguestBuild base = LguestBuild.defaultBuild();
        LguestBuild variant = base.without("lguest-virtio-block")
                .replacing("lguest-pagetable", "lguest-pagetable-simple");

        List<String> expected = new ArrayList<>(LguestBuild.DEFAULT_COMPONENTS);
        expected.remove("lguest-virtio-block");
        expected.set(expected.indexOf("lguest-pagetable"), "lguest-pagetable-simple");
        assertEquals(expected, variant.components());
        assertEquals(LguestBuild.DEFAULT_COMPONENTS, base.components(), "the base build is unchanged");
    }

    @Test
    void removingWhatIsNotThereSaysWhatIs() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LguestBuild.defaultBuild().without("lguest-gpu"));
        assertTrue(e.getMessage().contains("has no lguest-gpu"), e.getMessage());
    }

    @Test
    void everyBundleIsFoundOnTheClassPath() {
        List<String> urls = Arrays.stream(LguestBuild.defaultBuild()
                        .replacing("lguest-pagetable", "lguest-pagetable-simple").options())
                .filter(o -> o instanceof ProvisionOption<?>)
                .map(o -> ((ProvisionOption<?>) o).getURL())
                .toList();
        for (String name : List.of("org.apache.felix.scr", "lguest-api", "lguest-pagetable-simple",
                "lguest-launcher")) {
            assertTrue(urls.stream().anyMatch(u -> u.contains(name)), name + " in " + urls);
        }
        assertTrue(urls.stream().noneMatch(u -> u.contains("lguest-pagetable-0") || u.contains("lguest-pagetable/")),
                "the replaced MMU is gone: " + urls);
    }

    @Test
    void aBundleNotOnTheClassPathIsNamedWithAdvice() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> LguestBuild.defaultBuild().with("lguest-nonexistent").options());
        assertTrue(e.getMessage().contains("add dev.lguest:lguest-nonexistent as a test dependency"), e.getMessage());
    }

    @Test
    void jarAndDirectoryManifestsBecomeInstallableLocations() throws Exception {
        assertEquals("file:/r/x.jar", BundleLocator.location(
                new java.net.URI("jar:file:/r/x.jar!/META-INF/MANIFEST.MF").toURL()));
        assertEquals("reference:file:/r/classes/", BundleLocator.location(
                new java.net.URI("file:/r/classes/META-INF/MANIFEST.MF").toURL()));
    }

    @Test
    void optionsAreOptions() {
        for (Option option : LguestBuild.defaultBuild().options()) {
            assertTrue(option != null);
        }
    }
}
