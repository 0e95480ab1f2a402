package dev.lguest.launcher;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
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
        // Gogo's runtime has replaced System.out and System.err with streams that route
        // each thread's output to its session; handing those back to a session makes it
        // write to itself. The terminal is the process's own file descriptors.
        try (CommandSession session = processor.createSession(new FileInputStream(FileDescriptor.in),
                new PrintStream(new FileOutputStream(FileDescriptor.out), true),
                new PrintStream(new FileOutputStream(FileDescriptor.err), true))) {
            session.execute("gosh --login --noshutdown");
            return 0;
        } catch (Exception e) {
            Throwable cause = e;
            while (cause.getCause() != null) {
                cause = cause.getCause();
            }
            err.println("lguest: the shell failed: " + cause);
            if (Boolean.getBoolean("lguest.debug")) {
                e.printStackTrace(err);
            }
            return 1;
        } finally {
            context.ungetService(ref);
        }
    }
}
