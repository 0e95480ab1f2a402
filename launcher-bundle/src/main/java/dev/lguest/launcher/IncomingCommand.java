package dev.lguest.launcher;

import dev.lguest.api.launcher.GuestSession;
import dev.lguest.api.snapshot.Migrations;
import dev.lguest.api.snapshot.SnapshotException;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;

/**
 * `lguest --incoming=PORT`: waits on 127.0.0.1:PORT (loopback only, as the gdb stub)
 * for one guest migrating here (`lguest:migrate ID 127.0.0.1:PORT` where it runs now),
 * then runs it with this process's terminal as its console until it ends; the exit
 * status is the guest's, as for a boot. The port it listens on is said on standard
 * error first (port 0 picks a free one). A migration that breaks off before the guest
 * runs here is one line and exit status 1; the guest then runs on at the source.
 */
final class IncomingCommand {
    private IncomingCommand() {
    }

    static int run(CommandLine.Incoming incoming, BundleContext context, PrintStream out, PrintStream err) {
        if (!LguestMain.awaitRequired(context, err)) {
            return 1;
        }
        ServiceReference<Migrations> ref = context.getServiceReference(Migrations.class);
        Migrations migrations = ref == null ? null : context.getService(ref);
        if (migrations == null) {
            err.println("lguest: this build's Launcher cannot receive guests (no " + Migrations.class.getName()
                    + " service)");
            return 1;
        }
        TerminalMode terminal = null;
        try (ServerSocket server = new ServerSocket(incoming.port(), 1, InetAddress.getLoopbackAddress())) {
            err.println("lguest: waiting for a migrating guest on 127.0.0.1:" + server.getLocalPort());
            err.flush();
            terminal = TerminalMode.rawIfTerminal();
            GuestSession session = migrations.receive(server, incoming.block(), out, System.in);
            server.close();
            return LguestMain.runToEnd(session, err);
        } catch (IOException e) {
            err.println("lguest: cannot listen on port " + incoming.port() + ": " + e.getMessage());
            return 1;
        } catch (SnapshotException e) {
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
            context.ungetService(ref);
        }
    }
}
