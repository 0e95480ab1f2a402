package dev.lguest.launcher;

import dev.lguest.api.launcher.GuestSession;
import dev.lguest.api.snapshot.SnapshotException;
import dev.lguest.api.snapshot.Snapshots;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

import java.io.PrintStream;

/**
 * `lguest --restore=FILE`: the guest saved in FILE continues here, with this process's
 * terminal as its console, until it ends; the exit status is the guest's, as for a
 * boot. Everything wrong with the file or with this build for it (a truncated,
 * corrupted, foreign or newer snapshot; a component or device the snapshot needs and
 * this build lacks; a disk that is gone; a network card and no --net for it) is one
 * line and exit status 1.
 */
final class RestoreCommand {
    private RestoreCommand() {
    }

    /** Waits for the guest to end; says how it ended, and returns its exit status. */
    static int run(CommandLine.Restore restore, BundleContext context, PrintStream out, PrintStream err) {
        if (!LguestMain.awaitRequired(context, err)) {
            return 1;
        }
        ServiceReference<Snapshots> ref = context.getServiceReference(Snapshots.class);
        Snapshots snapshots = ref == null ? null : context.getService(ref);
        if (snapshots == null) {
            err.println("lguest: this build's Launcher cannot restore snapshots (no "
                    + Snapshots.class.getName() + " service)");
            return 1;
        }
        TerminalMode terminal = null;
        try {
            terminal = TerminalMode.rawIfTerminal();
            GuestSession session = snapshots.restore(restore.snapshot(), restore.block(), restore.networks(), out,
                    System.in);
            return LguestMain.runToEnd(session, err);
        } catch (SnapshotException e) {
            err.println("lguest: " + restore.snapshot() + ": " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("lguest: interrupted");
            return 1;
        } finally {
            if (terminal != null) {
                terminal.close();
            }
            context.ungetService(ref);
        }
    }
}
