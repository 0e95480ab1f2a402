package dev.lguest.launcher;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

import java.io.PrintStream;

/**
 * `lguest --shell`: an interactive Felix Gogo shell on the terminal.
 *
 * The builds start Gogo's shell bundle with gosh.args=--nointeractive, so that a
 * plain `lguest` run does not print a prompt into the guest's console. Here we ask
 * Gogo's command processor for a session on the terminal and run its `gosh` command
 * in it. Gogo is optional in a custom build (its package is imported optionally), and
 * this class is only loaded when the shell is asked for.
 */
final class GogoShell {
    private GogoShell() {
    }

    static int open(BundleContext context, PrintStream err) {
        ServiceReference<CommandProcessor> ref;
        try {
            ref = context.getServiceReference(CommandProcessor.class);
        } catch (NoClassDefFoundError e) {
            ref = null;
        }
        if (ref == null) {
            err.println("lguest: this build has no Gogo shell");
            return 1;
        }
        CommandProcessor processor = context.getService(ref);
        try (CommandSession session = processor.createSession(System.in, System.out, System.err)) {
            session.execute("gosh --login --noshutdown");
            return 0;
        } catch (Exception e) {
            err.println("lguest: the shell failed: " + e);
            return 1;
        } finally {
            context.ungetService(ref);
        }
    }
}
