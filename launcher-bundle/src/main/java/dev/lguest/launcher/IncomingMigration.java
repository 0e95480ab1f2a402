package dev.lguest.launcher;

import dev.lguest.api.launcher.GuestSession;
import dev.lguest.api.snapshot.SnapshotException;
import dev.lguest.api.snapshot.SnapshotFile;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;

/**
 * The destination side of a live migration (see {@link MigrationWire}): takes one
 * connection, lays out the guest's memory as the header says, copies the pages of
 * every round into it while the source's guest still runs, and at the state record
 * restores the guest into that memory exactly as a snapshot is restored (the same
 * checks, the same sections). Once the guest runs here it says so; that word is what
 * lets the source end its copy. A migration that breaks off before it (the source gone,
 * a bad stream, a restore that fails) frees everything and throws one line; the
 * source's guest then runs on.
 */
final class IncomingMigration {
    private IncomingMigration() {
    }

    static GuestSession receive(LauncherComponent launcher, ServerSocket server, Path block, OutputStream console,
                                InputStream input) throws SnapshotException {
        Socket socket;
        try {
            socket = server.accept();
        } catch (IOException e) {
            throw new SnapshotException("no migration came: " + e.getMessage());
        }
        Arena arena = null;
        GuestSession session = null;
        try (socket) {
            socket.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
            long[] sizes = MigrationWire.readHeader(in);
            long memoryBytes = sizes[0];
            long totalBytes = sizes[1];
            if (memoryBytes <= 0 || (memoryBytes & ((1 << 20) - 1)) != 0
                    || (memoryBytes >> 20) < LauncherComponent.MIN_MEMORY_MB
                    || (memoryBytes >> 20) > LauncherComponent.MAX_MEMORY_MB
                    || totalBytes != new GuestLayout(memoryBytes).totalBytes()) {
                throw new SnapshotException("the migration's guest memory (" + memoryBytes + " bytes, " + totalBytes
                        + " with its devices) is not one this Launcher lays out");
            }
            arena = Arena.ofShared();
            MemorySegment ram;
            try {
                ram = GuestRam.allocate(arena, totalBytes);
            } catch (OutOfMemoryError e) {
                throw new SnapshotException("no memory for the migrating " + (memoryBytes >> 20) + " MB guest");
            }
            while (true) {
                int record = in.readUnsignedByte();
                if (record == MigrationWire.PAGES) {
                    MigrationWire.readPages(in, ram);
                } else if (record == MigrationWire.VERIFY) {
                    try {
                        MigrationWire.checkVerify(in, ram);
                    } catch (SnapshotException e) {
                        MigrationWire.writeAnswer(out, e.getMessage());
                        throw e;
                    }
                } else if (record == MigrationWire.REHEARSAL) {
                    rehearse(launcher, MigrationWire.readState(in), block);
                } else if (record == MigrationWire.STATE) {
                    SnapshotFile.Contents contents = SnapshotFile.parse(MigrationWire.readState(in));
                    Arena given = arena;
                    arena = null; // the restore owns it now
                    try {
                        session = launcher.restore(contents, given, ram, block, null, console, input);
                    } catch (SnapshotException e) {
                        closeIfOpen(given);
                        MigrationWire.writeAnswer(out, e.getMessage());
                        throw e;
                    }
                    MigrationWire.writeAnswer(out, null);
                    return session;
                } else {
                    throw new SnapshotException("the migration stream has a record this build does not know ("
                            + record + ")");
                }
            }
        } catch (EOFException e) {
            throw new SnapshotException("the source went away before the guest's last step");
        } catch (IOException e) {
            if (session != null) {
                // It runs, but the source cannot know: it runs its own copy on.
                session.stop();
                throw new SnapshotException("the source went away as the guest started here (" + e.getMessage()
                        + "); the guest stopped here");
            }
            throw new SnapshotException("the migration broke off: " + e.getMessage());
        } finally {
            if (arena != null) {
                arena.close();
            }
        }
    }

    /**
     * The restore's checks on the state the source had as its pre-copy began, before the
     * guest stops: so their code is loaded and has run once (nothing of it is kept). A
     * state that fails them here says nothing: the final state goes through them all
     * again and its refusal is the one the source hears.
     */
    private static void rehearse(LauncherComponent launcher, byte[] state, Path block) {
        try {
            launcher.rehearseRestore(SnapshotFile.parse(state), block);
        } catch (SnapshotException e) {
            // The last step's restore says it, if it still holds.
        }
    }

    /** A restore that failed has closed the memory it took over, or not yet taken it. */
    private static void closeIfOpen(Arena arena) {
        try {
            arena.close();
        } catch (IllegalStateException closedAlready) {
            // The restore freed it.
        }
    }
}
