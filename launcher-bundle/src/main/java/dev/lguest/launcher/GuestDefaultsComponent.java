package dev.lguest.launcher;

import dev.lguest.api.config.GuestDefaults;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The Launcher's configurable defaults (PID dev.lguest.launcher), as the GuestDefaults
 * service: what `lguest` with no memory argument boots with, and what a program asks
 * for when it boots "a guest of the default size". A ConfigAdmin change is picked up
 * by the running component (no restart, the service stays registered) and applies to
 * the next guest booted.
 */
@Component(service = GuestDefaults.class, configurationPid = GuestDefaults.PID)
@Designate(ocd = GuestDefaultsComponent.Config.class)
public final class GuestDefaultsComponent implements GuestDefaults {
    @ObjectClassDefinition(name = "lguest Launcher defaults",
            description = "What a guest gets when whoever boots it does not say.")
    @interface Config {
        @AttributeDefinition(name = "Guest memory (MB)", min = "" + LauncherComponent.MIN_MEMORY_MB,
                max = "" + LauncherComponent.MAX_MEMORY_MB,
                description = "Memory of a guest booted without a size: `lguest` with no memory argument, "
                        + "or a program asking GuestDefaults.")
        int memory_megabytes() default CommandLine.DEFAULT_MEMORY_MB;
    }

    private volatile int memoryMegabytes = CommandLine.DEFAULT_MEMORY_MB;

    @Activate
    void activate(Config config) {
        apply(config);
    }

    @Modified
    void modified(Config config) {
        apply(config);
    }

    private void apply(Config config) {
        memoryMegabytes = Math.clamp(config.memory_megabytes(), LauncherComponent.MIN_MEMORY_MB,
                LauncherComponent.MAX_MEMORY_MB);
    }

    @Override
    public int memoryMegabytes() {
        return memoryMegabytes;
    }
}
