package dev.lguest.launcher;

import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
import dev.lguest.api.launcher.GuestSession;
import org.osgi.framework.BundleContext;
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

/**
 * The `lguest` command: what runs on the main thread of the exported launcher jar.
 *
 * bnd's launcher registers the command line as the "launcher.arguments" property of
 * a service, and calls a Callable registered with main.thread=true on the main thread
 * once every bundle has started; what it returns is the process's exit code. So the
 * whole platform is up before the first guest instruction runs.
 */
@Component(service = Callable.class, property = "main.thread=true")
public final class LguestMain implements Callable<Integer> {
    static final String DEMO_GUEST = "guests/demo-guest.elf";

    private final List<String> arguments;
    private final GuestLauncher launcher;
    private final BundleContext context;

    @Activate
    public LguestMain(@Reference(service = Object.class, target = "(launcher.arguments=*)")
                      Map<String, Object> bndLauncher,
                      @Reference GuestLauncher launcher, BundleContext context) {
        Object args = bndLauncher.get("launcher.arguments");
        this.arguments = args instanceof String[] words ? Arrays.asList(words) : List.of();
        this.launcher = launcher;
        this.context = context;
    }

    @Override
    public Integer call() {
        return run(arguments, launcher, context, System.out, System.err);
    }

    /** The command, apart from where its arguments and streams come from (for tests). */
    static int run(List<String> args, GuestLauncher launcher, BundleContext context, PrintStream out,
                   PrintStream err) {
        CommandLine.Parsed parsed = CommandLine.parse(args);
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
                return boot(boot, launcher, out, err);
            }
        }
    }

    private static int boot(CommandLine.Boot boot, GuestLauncher launcher, PrintStream out, PrintStream err) {
        TerminalMode terminal = null;
        try {
            byte[] demo = boot.kernel() == null ? builtInDemoGuest() : null;
            // Raw mode first, so that no keystroke is cooked between boot and the console.
            terminal = TerminalMode.rawIfTerminal();
            GuestSession session = launcher.boot(boot.toSpec(demo), out, System.in);
            Optional<GuestOutcome> outcome = Optional.empty();
            while (outcome.isEmpty()) {
                outcome = session.await(Duration.ofHours(1));
            }
            GuestOutcome end = outcome.get();
            if (!end.poweredOff()) {
                err.println("lguest: the guest died: " + end.reason());
            }
            return end.exitCode();
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
