package dev.lguest.launcher;

import dev.lguest.api.config.GuestDefaults;
import dev.lguest.api.debug.GdbServer;
import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
import dev.lguest.api.launcher.GuestSession;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Predicate;

/**
 * The `lguest` command: what runs on the main thread of the exported launcher jar.
 *
 * bnd's launcher registers the command line as the "launcher.arguments" property of
 * a service, and calls a Callable registered with main.thread=true on the main thread
 * once every bundle has started; what it returns is the process's exit code. So the
 * whole platform is up before the first guest instruction runs.
 *
 * A custom build may lack a component. This command therefore depends on nothing but
 * bnd's launcher, so it is always there to run; before booting it waits a bounded
 * time (lguest.service.wait.seconds, 5 by default) for every service a guest needs,
 * and if one never comes it says which in one line and exits 1, instead of a guest
 * hanging on a hypervisor with a hole in it.
 *
 * Without a memory argument the guest gets the configured default (the GuestDefaults
 * service, PID dev.lguest.launcher), read when the command runs.
 */
@Component(service = Callable.class, property = "main.thread=true")
public final class LguestMain implements Callable<Integer> {
    static final String DEMO_GUEST = "guests/demo-guest.elf";
    static final String WAIT_PROPERTY = "lguest.service.wait.seconds";
    static final Duration DEFAULT_WAIT = Duration.ofSeconds(5);

    /** A service every guest needs, and what a user would call it. */
    record RequiredService(String className, String description) {
        String missingMessage() {
            return "this build has no " + description + " (no " + className + " service)";
        }
    }

    /**
     * What a guest needs, the leaves first: when a component is missing, the first
     * one named here is the cause rather than a component waiting for it.
     */
    static final List<RequiredService> REQUIRED = List.of(
            new RequiredService("dev.lguest.api.cpu.X86CpuFactory", "CPU"),
            new RequiredService("dev.lguest.api.mmu.ShadowPageTables", "shadow page tables"),
            new RequiredService("dev.lguest.api.segments.SegmentManager", "segment manager"),
            new RequiredService("dev.lguest.api.traps.TrapDelivery", "trap delivery"),
            new RequiredService("dev.lguest.api.hypercalls.HypercallHandler", "hypercall handler"),
            new RequiredService("dev.lguest.api.switcher.Switcher", "switcher"),
            new RequiredService("dev.lguest.api.device.LguestDevice", "/dev/lguest device"),
            new RequiredService(GuestLauncher.class.getName(), "Launcher"));

    private final List<String> arguments;
    private final BundleContext context;

    @Activate
    public LguestMain(@Reference(service = Object.class, target = "(launcher.arguments=*)")
                      Map<String, Object> bndLauncher, BundleContext context) {
        Object args = bndLauncher.get("launcher.arguments");
        this.arguments = args instanceof String[] words ? Arrays.asList(words) : List.of();
        this.context = context;
    }

    @Override
    public Integer call() {
        return run(arguments, context, System.out, System.err);
    }

    /** The command, apart from where its arguments and streams come from. */
    static int run(List<String> args, BundleContext context, PrintStream out, PrintStream err) {
        CommandLine.Monitor monitor = CommandLine.takeMonitor(args);
        if (monitor.error() != null) {
            err.println("lguest: " + monitor.error());
            return 1;
        }
        if (monitor.port() < 0) {
            return runCommand(monitor.rest(), context, out, err);
        }
        try (GuestMonitor listening = GuestMonitor.start(context, monitor.port(), err)) {
            return runCommand(monitor.rest(), context, out, err);
        } catch (java.io.IOException e) {
            err.println("lguest: cannot listen for the monitor on port " + monitor.port() + ": " + e.getMessage());
            return 1;
        }
    }

    private static int runCommand(List<String> args, BundleContext context, PrintStream out, PrintStream err) {
        CommandLine.Parsed parsed = CommandLine.parse(args, defaultMemoryMegabytes(context));
        switch (parsed) {
            case CommandLine.Help help -> {
                out.print(CommandLine.USAGE);
                return 0;
            }
            case CommandLine.Error error -> {
                err.println("lguest: " + error.message());
                return 1;
            }
            case CommandLine.Shell shell -> {
                return GogoShell.open(context, err);
            }
            case CommandLine.Boot boot -> {
                return bootOnThisBuild(boot, context, out, err);
            }
            case CommandLine.Restore restore -> {
                return RestoreCommand.run(restore, context, out, err);
            }
            case CommandLine.Incoming incoming -> {
                return IncomingCommand.run(incoming, context, out, err);
            }
        }
    }

    /** Waits for every required service; prints what is missing and returns false if one never came. */
    static boolean awaitRequired(BundleContext context, PrintStream err) {
        Optional<RequiredService> missing;
        try {
            missing = firstMissing(className -> context.getServiceReference(className) != null, waitTime(context));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("lguest: interrupted");
            return false;
        }
        missing.ifPresent(m -> err.println("lguest: " + m.missingMessage()));
        return missing.isEmpty();
    }

    /** Waits for every required service, then boots on the Launcher; or names what is missing. */
    private static int bootOnThisBuild(CommandLine.Boot boot, BundleContext context, PrintStream out,
                                       PrintStream err) {
        Optional<RequiredService> missing;
        try {
            missing = firstMissing(className -> context.getServiceReference(className) != null, waitTime(context));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("lguest: interrupted");
            return 1;
        }
        if (missing.isPresent()) {
            err.println("lguest: " + missing.get().missingMessage());
            return 1;
        }
        ServiceReference<GuestLauncher> ref = context.getServiceReference(GuestLauncher.class);
        GuestLauncher launcher = ref == null ? null : context.getService(ref);
        if (launcher == null) {
            // Gone between the check and now: the build is being taken apart under us.
            err.println("lguest: " + REQUIRED.getLast().missingMessage());
            return 1;
        }
        try {
            if (boot.gdbPort() >= 0 && !listenForGdb(boot, context, err)) {
                return 1;
            }
            return boot(boot, launcher, out, err);
        } finally {
            context.ungetService(ref);
        }
    }

    /**
     * --gdb: the debugger's stub listens before the guest is set up, so it is there
     * from the guest's first instruction (and with --gdb-wait stops it there). False,
     * with one line said, when the build has no debugger or the port is taken.
     */
    private static boolean listenForGdb(CommandLine.Boot boot, BundleContext context, PrintStream err) {
        ServiceReference<GdbServer> ref = context.getServiceReference(GdbServer.class);
        GdbServer server = ref == null ? null : context.getService(ref);
        if (server == null) {
            err.println("lguest: this build has no debugger (no dev.lguest.api.debug.GdbServer service): --gdb cannot work");
            return false;
        }
        try {
            int port = server.attachToNextGuest(boot.gdbPort(), boot.gdbWait());
            err.println("lguest: gdb stub on 127.0.0.1:" + port + (boot.gdbWait()
                    ? ", the guest waits for gdb (target remote :" + port + ")" : ""));
            return true;
        } catch (java.io.IOException e) {
            err.println("lguest: cannot listen for gdb on port " + boot.gdbPort() + ": " + e.getMessage());
            return false;
        } finally {
            context.ungetService(ref);
        }
    }

    /**
     * The first required service that is still not registered once {@code wait} has
     * passed, or empty as soon as all are. One deadline for all of them, so a build
     * missing several components still answers within {@code wait}.
     */
    static Optional<RequiredService> firstMissing(Predicate<String> registered, Duration wait)
            throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            Optional<RequiredService> missing = REQUIRED.stream()
                    .filter(service -> !registered.test(service.className())).findFirst();
            if (missing.isEmpty() || System.nanoTime() - deadline >= 0) {
                return missing;
            }
            Thread.sleep(10);
        }
    }

    /** The configured default guest memory, or the built-in one in a build without the defaults. */
    static int defaultMemoryMegabytes(BundleContext context) {
        ServiceReference<GuestDefaults> ref = context.getServiceReference(GuestDefaults.class);
        GuestDefaults defaults = ref == null ? null : context.getService(ref);
        if (defaults == null) {
            return CommandLine.DEFAULT_MEMORY_MB;
        }
        try {
            return defaults.memoryMegabytes();
        } finally {
            context.ungetService(ref);
        }
    }

    /** How long to wait for the services: the lguest.service.wait.seconds property, or 5 s. */
    static Duration waitTime(BundleContext context) {
        String seconds = context.getProperty(WAIT_PROPERTY);
        if (seconds != null) {
            try {
                return Duration.ofMillis((long) (Double.parseDouble(seconds.trim()) * 1000));
            } catch (NumberFormatException ignored) {
                // Fall back to the default: a typo here must not stop a guest booting.
            }
        }
        return DEFAULT_WAIT;
    }

    private static int boot(CommandLine.Boot boot, GuestLauncher launcher, PrintStream out, PrintStream err) {
        TerminalMode terminal = null;
        try {
            byte[] demo = boot.kernel() == null ? builtInDemoGuest() : null;
            // Raw mode first, so that no keystroke is cooked between boot and the console.
            terminal = TerminalMode.rawIfTerminal();
            GuestSession session = launcher.boot(boot.toSpec(demo), out, System.in);
            return runToEnd(session, err);
        } catch (BootException e) {
            err.println("lguest: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("lguest: interrupted");
            return 1;
        } finally {
            if (terminal != null) {
                terminal.close();
            }
        }
    }

    /** Waits for the guest to end (a boot's, a restore's or a migration's), then reports it as {@link #reportEnd} does. */
    static int runToEnd(GuestSession session, PrintStream err) throws InterruptedException {
        Optional<GuestOutcome> outcome = Optional.empty();
        while (outcome.isEmpty()) {
            outcome = session.await(Duration.ofHours(1));
        }
        return reportEnd(outcome.get(), err);
    }

    /**
     * Says how a guest ended, as the exit status goes: nothing for a power-off or the
     * user's triple ^C (status 2, as lguest.c), the reason of a death, and where a
     * guest that migrated away went (status 0). Returns the exit status.
     */
    static int reportEnd(GuestOutcome end, PrintStream err) {
        if (!end.poweredOff() && end.exitCode() == 0) {
            err.println("lguest: the guest " + end.reason());
        } else if (!end.poweredOff() && end.exitCode() != GuestOutcome.USER_STOPPED) {
            err.println("lguest: the guest died: " + end.reason());
        }
        return end.exitCode();
    }

    /** The demo guest this bundle carries, built from guest/demo by the normal build. */
    static byte[] builtInDemoGuest() throws BootException {
        try (InputStream in = LguestMain.class.getClassLoader().getResourceAsStream(DEMO_GUEST)) {
            if (in == null) {
                throw new BootException("this build carries no demo guest (" + DEMO_GUEST + ")");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new BootException("cannot read the demo guest: " + e.getMessage());
        }
    }
}
