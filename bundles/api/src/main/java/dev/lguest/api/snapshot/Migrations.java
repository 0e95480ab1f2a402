package dev.lguest.api.snapshot;

import dev.lguest.api.launcher.GuestSession;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.file.Path;

/**
 * Live migration, as a service of the Launcher: a running guest moves to another
 * Launcher (another process, over TCP) while it runs, and stands still only for a
 * short last step.
 *
 * Pre-copy, as hypervisors do it: a dirty log is started (the shadow page tables make
 * every page read-only, so the guest's first store to a page is seen and marked; the
 * host's and the devices' writes are marked where they are made), all memory is sent
 * while the guest runs, then round after round the pages written meanwhile, until few
 * are left or the rounds run out. Then the guest is stopped at an instruction
 * boundary, the last pages and every component's section (those of a snapshot) go
 * across, and once the destination says it runs the guest, the guest ends here
 * ("migrated to HOST:PORT"). If the destination goes away or refuses at any point
 * before that, the guest runs on here as if nothing had happened.
 */
public interface Migrations {
    /** Migrates the live guest with host id {@code guestId} to the Launcher waiting on {@code host:port}. */
    Migrated migrate(int guestId, String host, int port) throws SnapshotException;

    /** Migrates the guest of {@code session} (one this Launcher runs). */
    Migrated migrate(GuestSession session, String host, int port) throws SnapshotException;

    /**
     * Waits on {@code server} for one migration and runs the guest it brings, its
     * console on {@code console} and {@code input}; {@code block} replaces the disk file
     * the guest had (null: the same file, which the two Launchers share). Returns once
     * the guest runs here; throws (one line) if the migration broke off.
     */
    GuestSession receive(ServerSocket server, Path block, OutputStream console, InputStream input)
            throws SnapshotException;

    /**
     * What a migration did: the rounds of pre-copy (the full copy is the first), the
     * pages sent in all, the pages of the last step, how long the guest stood still
     * (from its stop here to the destination's word that it runs there) and how long
     * the whole migration took, in nanoseconds.
     */
    record Migrated(String destination, int rounds, long pagesSent, int lastPages, long downtimeNanos,
                    long totalNanos) {
    }
}
