package dev.lguest.launcher;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.GuestRegistry;
import dev.lguest.api.snapshot.Migrations;
import dev.lguest.api.snapshot.SnapshotException;
import dev.lguest.api.snapshot.Snapshots;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * `--monitor=PORT`: a line-based control connection to the guest this process runs, on
 * 127.0.0.1:PORT only (as QEMU's monitor, and the gdb stub): one command a line, one
 * answer line each.
 *
 * <pre>
 *   migrate HOST:PORT      move the guest live to `lguest --incoming=PORT` there; once it
 *                          runs there, this process exits 0 ("the guest migrated to ...")
 *   save FILE [stop]       write a snapshot; the guest runs on (or stops)
 *   info                   the guest's host id and whether it runs
 * </pre>
 *
 * It finds the guest through the services (the registry of live guests, the Launcher's
 * Snapshots and Migrations), so it needs nothing from the command that runs the guest.
 * Port 0 picks a free port; the port is said on standard error.
 */
final class GuestMonitor implements AutoCloseable {
    private final BundleContext context;
    private final ServerSocket server;

    private GuestMonitor(BundleContext context, ServerSocket server) {
        this.context = context;
        this.server = server;
    }

    /** Listens on 127.0.0.1:{@code port} and serves connections on daemon threads. */
    static GuestMonitor start(BundleContext context, int port, PrintStream err) throws IOException {
        ServerSocket server = new ServerSocket(port, 4, InetAddress.getLoopbackAddress());
        GuestMonitor monitor = new GuestMonitor(context, server);
        Thread accept = new Thread(monitor::acceptLoop, "lguest-monitor");
        accept.setDaemon(true);
        accept.start();
        err.println("lguest: monitor on 127.0.0.1:" + server.getLocalPort());
        err.flush();
        return monitor;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Thread serve = new Thread(() -> serve(client), "lguest-monitor-client");
                serve.setDaemon(true);
                serve.start();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket client) {
        try (client;
             BufferedReader in = new BufferedReader(new InputStreamReader(client.getInputStream(),
                     StandardCharsets.UTF_8));
             PrintStream out = new PrintStream(client.getOutputStream(), true, StandardCharsets.UTF_8)) {
            for (String line; (line = in.readLine()) != null; ) {
                if (!line.isBlank()) {
                    out.println(answer(line.trim()));
                }
            }
        } catch (IOException e) {
            // The client went away; nothing to answer.
        }
    }

    /** One command's answer, one line. */
    String answer(String command) {
        String[] words = command.split("\\s+");
        try {
            return switch (words[0].toLowerCase(Locale.ROOT)) {
                case "info" -> info();
                case "migrate" -> words.length == 2 ? migrate(words[1]) : "usage: migrate HOST:PORT";
                case "save" -> words.length == 2 || (words.length == 3 && words[2].equals("stop"))
                        ? save(Path.of(words[1]).toAbsolutePath(), words.length == 3) : "usage: save FILE [stop]";
                default -> "unknown command '" + words[0] + "': migrate HOST:PORT, save FILE [stop], info";
            };
        } catch (SnapshotException e) {
            return "error: " + e.getMessage();
        }
    }

    private String info() throws SnapshotException {
        Guest g = guest();
        return "guest " + g.id() + (g.isDead() ? " ended: " + g.deadReason() : " runs");
    }

    private String migrate(String destination) throws SnapshotException {
        int colon = destination.lastIndexOf(':');
        int port;
        try {
            port = colon <= 0 ? -1 : Integer.parseInt(destination.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 1 || port > 65535) {
            return "usage: migrate HOST:PORT (a port from 1 to 65535)";
        }
        Migrations migrations = service(Migrations.class, "migrate guests");
        Migrations.Migrated m = migrations.migrate(guest().id(), destination.substring(0, colon), port);
        return String.format(Locale.ROOT, "migrated to %s: stood still %.1f ms, %.0f ms in all, %d rounds, "
                + "%d pages sent, %d in the last step", m.destination(), m.downtimeNanos() / 1e6,
                m.totalNanos() / 1e6, m.rounds(), m.pagesSent(), m.lastPages());
    }

    private String save(Path file, boolean thenStop) throws SnapshotException {
        Snapshots snapshots = service(Snapshots.class, "save guests");
        Snapshots.Saved s = snapshots.save(guest().id(), file, thenStop);
        return String.format(Locale.ROOT, "saved to %s: %d bytes, stood still %.1f ms", s.file(), s.bytes(),
                s.pauseNanos() / 1e6);
    }

    /** The live guest of this process. */
    private Guest guest() throws SnapshotException {
        GuestRegistry registry = service(GuestRegistry.class, "list guests");
        List<Guest> live = registry.guests().stream().filter(g -> !g.isDead()).toList();
        if (live.isEmpty()) {
            throw new SnapshotException("no guest runs here (yet)");
        }
        return live.getFirst();
    }

    private <T> T service(Class<T> type, String what) throws SnapshotException {
        ServiceReference<T> ref = context.getServiceReference(type);
        T service = ref == null ? null : context.getService(ref);
        if (service == null) {
            throw new SnapshotException("this build cannot " + what + " (no " + type.getName() + " service)");
        }
        return service; // held for the process's life, as the command's own services are
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            // Closing a listener; nothing to say.
        }
    }
}
