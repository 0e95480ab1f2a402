package dev.lguest.shell;

import dev.lguest.api.events.ComponentSwapEvent;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.GuestRegistry;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import dev.lguest.api.snapshot.Migrations;
import dev.lguest.api.snapshot.SnapshotException;
import dev.lguest.api.snapshot.Snapshots;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * lguest's Gogo commands:
 *
 *   lguest:list                          guests, their state, exit counts by reason
 *   lguest:stats                         per guest: instructions, exits, hypercalls by name
 *   lguest:swap <component> <bundle>     replace the bundle providing a component
 *   lguest:save <id> <file> [stop]       write a guest's snapshot, then let it run on (or stop it)
 *   lguest:migrate <id> <host:port>      move a running guest to `lguest --incoming=PORT` there
 *
 * A swap starts the new bundle, waits for it to provide the component's service, and
 * only then stops the old provider, so running guests move over (the components hand
 * over at an instruction boundary). If the new bundle does not start or does not
 * provide the service, the old one stays and the command says why. The old bundle is
 * stopped, not uninstalled, so a swap back is another swap. Every swap, done or not, is
 * a dev.lguest.ComponentSwap event for JDK Flight Recorder while a recording enables it.
 *
 * Gogo finds these through the osgi.command properties; nothing here needs Gogo's
 * classes, so a build without the shell simply has no use for this bundle.
 */
@Component(service = LguestCommands.class, property = {
    "osgi.command.scope=lguest",
    "osgi.command.function=list",
    "osgi.command.function=stats",
    "osgi.command.function=swap",
    "osgi.command.function=save",
    "osgi.command.function=migrate",
})
public final class LguestCommands {
    private static final long PROVIDE_WAIT_SECONDS = 10;

    private final BundleContext context;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile GuestRegistry registry;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile Snapshots snapshots;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile Migrations migrations;

    @Activate
    public LguestCommands(BundleContext context) {
        this.context = context;
    }

    public String list() {
        return GuestReport.list(guests());
    }

    public String stats() {
        return GuestReport.stats(guests());
    }

    /** Saves guest {@code id} (as lguest:list numbers it) to {@code file}; the guest runs on. */
    public String save(int id, String file) {
        return save(id, file, "run");
    }

    /** Saves guest {@code id} to {@code file}, then lets it run on ("run") or ends it ("stop"). */
    public String save(int id, String file, String then) {
        if (!then.equals("run") && !then.equals("stop")) {
            return "after the save the guest can 'run' or 'stop', not '" + then + "'";
        }
        Snapshots s = snapshots;
        if (s == null) {
            return "this build's Launcher cannot save guests (no Snapshots service)";
        }
        try {
            Snapshots.Saved saved = s.save(id, Path.of(file).toAbsolutePath(), then.equals("stop"));
            return String.format("saved guest %d to %s: %d bytes, %d pages of memory, stood still %.1f ms%s", id,
                    saved.file(), saved.bytes(), saved.ramPages(), saved.pauseNanos() / 1e6,
                    then.equals("stop") ? "; the guest stopped" : "");
        } catch (SnapshotException e) {
            return "cannot save guest " + id + ": " + e.getMessage();
        }
    }

    /**
     * Moves guest {@code id} live to the Launcher waiting on {@code destination}
     * (HOST:PORT, `lguest --incoming=PORT` there); the guest ends here once it runs
     * there, or runs on here if the migration breaks off.
     */
    public String migrate(int id, String destination) {
        Migrations m = migrations;
        if (m == null) {
            return "this build's Launcher cannot migrate guests (no Migrations service)";
        }
        int colon = destination.lastIndexOf(':');
        int port;
        try {
            port = colon <= 0 ? -1 : Integer.parseInt(destination.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 1 || port > 65535) {
            return "the destination is HOST:PORT (a port from 1 to 65535), not '" + destination + "'";
        }
        try {
            Migrations.Migrated done = m.migrate(id, destination.substring(0, colon), port);
            return String.format("migrated guest %d to %s: stood still %.1f ms, %.0f ms in all, %d rounds, "
                    + "%d pages sent, %d in the last step", id, done.destination(), done.downtimeNanos() / 1e6,
                    done.totalNanos() / 1e6, done.rounds(), done.pagesSent(), done.lastPages());
        } catch (SnapshotException e) {
            return "cannot migrate guest " + id + ": " + e.getMessage();
        }
    }

    private List<Guest> guests() {
        GuestRegistry r = registry;
        return r == null ? List.of() : r.guests();
    }

    /**
     * Replaces the provider of {@code component} (cpu, pagetable, segments, traps,
     * hypercalls, switcher, device, launcher) with {@code target}: a bundle id, or a
     * location that is installed first if no bundle has it yet.
     */
    public String swap(String component, String target) throws InterruptedException {
        ComponentSwapEvent event = new ComponentSwapEvent();
        event.begin();
        String answer = swap(component, target, event);
        if (event.shouldCommit()) {
            event.outcome = answer;
            event.succeeded = answer.startsWith("swapped ");
            event.commit();
        }
        return answer;
    }

    /** The swap itself; what it learns (the service, the bundles) goes into {@code event}. */
    private String swap(String component, String target, ComponentSwapEvent event) throws InterruptedException {
        Class<?> service = Components.BY_NAME.get(component);
        if (service == null) {
            return "no component '" + component + "'; one of " + String.join(", ", Components.BY_NAME.keySet());
        }
        event.service = service.getName();
        Bundle old = providerOf(service);
        event.fromBundle = old == null ? "none" : describe(old);
        Bundle next;
        try {
            next = resolve(target);
        } catch (BundleException | IllegalArgumentException e) {
            return "cannot install " + target + ": " + e.getMessage();
        }
        if (next == null) {
            return "no bundle " + target;
        }
        event.toBundle = describe(next);
        if (next.equals(old)) {
            return "bundle " + describe(next) + " already provides " + component;
        }
        long start = System.nanoTime();
        try {
            next.start();
        } catch (BundleException e) {
            return "bundle " + describe(next) + " did not start (" + e.getMessage() + "); "
                    + (old == null ? "no provider" : describe(old)) + " stays";
        }
        if (!awaitProvidedBy(service, next)) {
            return "bundle " + describe(next) + " does not provide " + service.getSimpleName() + "; "
                    + (old == null ? "no provider" : describe(old)) + " stays";
        }
        if (old != null) {
            try {
                old.stop();
            } catch (BundleException e) {
                return "bundle " + describe(old) + " could not be stopped: " + e.getMessage();
            }
        }
        long micros = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start);
        Bundle now = providerOf(service);
        if (!next.equals(now)) {
            return "after stopping the old provider, " + (now == null ? "nothing" : describe(now))
                    + " provides " + component;
        }
        return String.format("swapped %s: %s -> %s in %.1f ms", component,
                old == null ? "none" : describe(old), describe(next), micros / 1000.0);
    }

    private Bundle resolve(String target) throws BundleException {
        if (target.chars().allMatch(Character::isDigit)) {
            return context.getBundle(Long.parseLong(target));
        }
        Bundle installed = context.getBundle(target);
        return installed != null ? installed : context.installBundle(target);
    }

    /** The bundle of the service consumers bind to (the highest ranked), or null. */
    private Bundle providerOf(Class<?> service) {
        ServiceReference<?> ref = context.getServiceReference(service.getName());
        return ref == null ? null : ref.getBundle();
    }

    private boolean awaitProvidedBy(Class<?> service, Bundle bundle) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(PROVIDE_WAIT_SECONDS);
        do {
            ServiceReference<?>[] refs = bundle.getRegisteredServices();
            if (refs != null) {
                for (ServiceReference<?> ref : refs) {
                    for (String name : (String[]) ref.getProperty("objectClass")) {
                        if (name.equals(service.getName())) {
                            return true;
                        }
                    }
                }
            }
            Thread.sleep(5);
        } while (System.nanoTime() < deadline);
        return false;
    }

    private static String describe(Bundle b) {
        return b.getBundleId() + " (" + b.getSymbolicName() + " " + b.getVersion() + ")";
    }
}
