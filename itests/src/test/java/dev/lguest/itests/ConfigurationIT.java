package dev.lguest.itests;

import dev.lguest.api.config.GuestDefaults;
import dev.lguest.api.config.SwitcherSettings;
import dev.lguest.api.guest.GuestStatistics;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.switcher.Switcher;
import dev.lguest.exam.ComponentSwap;
import dev.lguest.exam.GuestRun;
import dev.lguest.exam.LguestBuild;
import org.junit.After;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.metatype.AttributeDefinition;
import org.osgi.service.metatype.MetaTypeService;
import org.osgi.service.metatype.ObjectClassDefinition;

import javax.inject.Inject;
import java.time.Duration;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * ConfigAdmin at runtime: the switcher's slice budget and the Launcher's default guest
 * memory are changed while the platform runs, without restarting anything, and the
 * next guest booted uses them (many more BUDGET exits; the new memory size), while
 * Metatype describes both PIDs.
 */
@RunWith(PaxExam.class)
public class ConfigurationIT {
    private static final int ROUNDS = 1_000_000;
    private static final long SMALL_SLICE = 10_000;

    @Inject
    private GuestLauncher launcher;

    @Inject
    private GuestDefaults defaults;

    @Inject
    private ConfigurationAdmin configurationAdmin;

    @Inject
    private ServiceComponentRuntime scr;

    @Inject
    private MetaTypeService metaTypes;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return LguestBuild.defaultBuild().options();
    }

    @After
    public void backToDefaults() throws Exception {
        configurationAdmin.getConfiguration(SwitcherSettings.PID, "?").delete();
        configurationAdmin.getConfiguration(GuestDefaults.PID, "?").delete();
    }

    @Test
    public void theNextGuestUsesTheNewSliceAndMemory() throws Exception {
        Bundle switcherBundle = ComponentSwap.providerOf(context, Switcher.class);
        Bundle launcherBundle = ComponentSwap.providerOf(context, GuestLauncher.class);

        assertEquals(32, defaults.memoryMegabytes());
        Run before = runDemo(defaults.memoryMegabytes());
        assertTrue("32 MB and the device pages: " + before, before.memoryBytes > 32L << 20);
        assertTrue("default slices: " + before, before.budgetExits < before.instructions / SMALL_SLICE / 2);

        configurationAdmin.getConfiguration(SwitcherSettings.PID, "?")
                .update(new Hashtable<>(Map.of(SwitcherSettings.SLICE_INSTRUCTIONS, SMALL_SLICE)));
        configurationAdmin.getConfiguration(GuestDefaults.PID, "?")
                .update(new Hashtable<>(Map.of("memory.megabytes", 24)));
        awaitConfigured(switcherBundle, "dev.lguest.switcher.SwitcherComponent",
                SwitcherSettings.SLICE_INSTRUCTIONS, SMALL_SLICE);
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (defaults.memoryMegabytes() != 24 && System.nanoTime() - deadline < 0) {
            Thread.sleep(10);
        }
        assertEquals("the same service, reconfigured", 24, defaults.memoryMegabytes());
        assertEquals("no restart", switcherBundle, ComponentSwap.providerOf(context, Switcher.class));

        Run after = runDemo(defaults.memoryMegabytes());
        assertEquals("8 MB less RAM, the same device pages", before.memoryBytes - (8L << 20), after.memoryBytes);
        assertTrue("slices of " + SMALL_SLICE + ": " + after,
                after.budgetExits >= after.instructions / SMALL_SLICE / 2);

        assertAttributes(switcherBundle, SwitcherSettings.PID,
                SwitcherSettings.SLICE_INSTRUCTIONS, SwitcherSettings.CLOCK_MIN_PERIOD_MICROS, SwitcherSettings.LOG_EXITS);
        assertAttributes(launcherBundle, GuestDefaults.PID, "memory.megabytes");
    }

    private record Run(long memoryBytes, long instructions, long budgetExits) {
    }

    private Run runDemo(int megabytes) throws Exception {
        try (GuestRun run = GuestRun.boot(launcher, GuestRun.demoGuest(launcher), megabytes,
                List.of("spin=" + ROUNDS))) {
            long memory = run.awaitGuest(Duration.ofSeconds(60)).memory.size();
            assertTrue(run.output(), run.awaitEnd(Duration.ofMinutes(3)).poweredOff());
            GuestStatistics s = run.statistics();
            return new Run(memory, s.instructions(), s.exits(GuestStatistics.Exit.BUDGET));
        }
    }

    /** Waits until SCR has given the component the configured value (ConfigAdmin delivers asynchronously). */
    private void awaitConfigured(Bundle bundle, String component, String key, Object value)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() - deadline < 0) {
            ComponentDescriptionDTO description = scr.getComponentDescriptionDTO(bundle, component);
            if (description != null) {
                for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(description)) {
                    if (value.equals(c.properties.get(key))) {
                        return;
                    }
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError(component + " never got " + key + "=" + value);
    }

    private void assertAttributes(Bundle bundle, String pid, String... ids) {
        ObjectClassDefinition ocd = metaTypes.getMetaTypeInformation(bundle).getObjectClassDefinition(pid, null);
        List<String> defined = Arrays.stream(ocd.getAttributeDefinitions(ObjectClassDefinition.ALL))
                .map(AttributeDefinition::getID).toList();
        assertTrue(pid + ": " + defined, defined.containsAll(List.of(ids)));
    }
}
