package dev.lguest.launcher;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.memory.DirtyLog;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.snapshot.Migrations.Migrated;
import dev.lguest.api.snapshot.SnapshotException;
import dev.lguest.api.snapshot.SnapshotFile;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * The source side of a live migration (see {@link dev.lguest.api.snapshot.Migrations}
 * and {@link MigrationWire}).
 *
 * Pre-copy: on the guest's thread, with the guest stopped for a moment, a dirty log is
 * attached to the guest's memory (the host's writes) and the devices' (their rings),
 * and the shadow page tables write-protect every page (the guest's own stores). Then,
 * the guest running, every non-zero page is sent; then, round after round, the log is
 * drained and the pages are protected again on the guest's thread, and the drained
 * pages sent while the guest runs. A page the guest writes while it is being sent is
 * in the next round's log, so a torn copy is always sent again.
 *
 * When few pages are left (or the rounds run out: a guest writing faster than the
 * loopback carries never converges), the last step runs on the guest's thread, the
 * guest stopped at an instruction boundary: the last dirty pages, then every
 * component's section as a snapshot holds them, then the destination's answer. Only
 * when it says the guest runs there does the guest end here. Anything else (the peer
 * gone, a refusal, no answer in time) detaches the log and the guest runs on: its
 * read-only shadow entries become writable again at their next write fault.
 */
final class OutgoingMigration {
    /**
     * Stop-and-copy once a round leaves no more than this (1 MiB: a few milliseconds over
     * loopback); the property lguest.migration.lastStepPages sets another, read at each
     * migration (MigrationIT: 0, so a guest that writes at all takes many rounds).
     */
    static final int LAST_STEP_PAGES = 256;
    /** Rounds of pre-copy at most, the first (all memory) included. */
    static final int MAX_ROUNDS = 30;
    private static final int CONNECT_TIMEOUT_MS = 10_000;
    /** How long the stopped guest waits for the destination to say it runs (a loaded machine restores slowly). */
    private static final int ANSWER_TIMEOUT_MS = 60_000;
    /** Sends a checksum of every page in the last step, which the destination checks (slow: for debugging). */
    private static final boolean VERIFY = Boolean.getBoolean("lguest.migration.verify");
    private static final MemorySegment ZERO_PAGE = MemorySegment.ofArray(new byte[PhysicalMemory.PAGE_SIZE]);

    private final RunningGuest guest;
    private final Supplier<ShadowPageTables> mmu;
    private final String host;
    private final int port;

    OutgoingMigration(RunningGuest guest, Supplier<ShadowPageTables> mmu, String host, int port) {
        this.guest = guest;
        this.mmu = mmu;
        this.host = host;
        this.port = port;
    }

    private String destination() {
        return host + ":" + port;
    }

    Migrated run() throws SnapshotException, InterruptedException {
        long start = System.nanoTime();
        MemorySegment ram = guest.memory();
        DirtyLog log = new DirtyLog(ram.byteSize());
        boolean moved = false;
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), CONNECT_TIMEOUT_MS);
            socket.setTcpNoDelay(true);
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 1 << 16));
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            MigrationWire.writeHeader(out, guest.memoryBytes(), ram.byteSize());

            byte[] rehearsal = guest.onGuestThread(g -> startLogging(g, log));
            MigrationWire.writeRehearsal(out, rehearsal);
            int[] all = nonZeroPages(ram);
            MigrationWire.writePages(out, ram, all);
            long sent = all.length;
            int rounds = 1;
            int lastStepPages = Integer.getInteger("lguest.migration.lastStepPages", LAST_STEP_PAGES);
            while (rounds < MAX_ROUNDS && log.count() > lastStepPages) {
                int[] dirty = guest.onGuestThread(g -> drainAndProtect(g, log));
                MigrationWire.writePages(out, ram, dirty);
                sent += dirty.length;
                rounds++;
            }
            out.flush();
            LastStep last = guest.onGuestThread(g -> lastStep(g, log, ram, socket, out, in));
            moved = true;
            return new Migrated(destination(), rounds, sent + last.pages(), last.pages(), last.downtimeNanos(),
                    System.nanoTime() - start);
        } catch (IOException e) {
            throw new SnapshotException("the migration to " + destination() + " broke off ("
                    + describe(e) + "); the guest runs on here");
        } finally {
            if (!moved) {
                stopLogging(log);
            }
        }
    }

    private record LastStep(int pages, long downtimeNanos) {
    }

    /**
     * On the guest's thread: the log attached, every page protected; returns the state as
     * it is now, the destination's rehearsal (taking it also runs the last step's capture
     * once before the guest stops for it).
     */
    private byte[] startLogging(Guest g, DirtyLog log) throws SnapshotException {
        ShadowPageTables tables = mmu.get();
        g.memory.logWrites(log);
        guest.devices().memory().logWrites(log);
        if (tables == null || !tables.writeProtect(g)) {
            throw new SnapshotException("this build's shadow page tables cannot track the guest's writes");
        }
        return stateBytes(g);
    }

    /** Every component's section as a snapshot holds them, its memory section empty. */
    private byte[] stateBytes(Guest g) throws SnapshotException {
        ByteArrayOutputStream snapshot = new ByteArrayOutputStream(1 << 16);
        try {
            SnapshotFile.write(snapshot, guest.captureState(g).contents());
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
        return snapshot.toByteArray();
    }

    /** On the guest's thread: this round's dirty pages, and every page protected again for the next. */
    private int[] drainAndProtect(Guest g, DirtyLog log) throws SnapshotException {
        int[] dirty = log.drain();
        ShadowPageTables tables = mmu.get();
        if (tables == null || !tables.writeProtect(g)) {
            throw new SnapshotException("this build's shadow page tables cannot track the guest's writes");
        }
        return dirty;
    }

    /** On the guest's thread, the guest stopped: the last pages and the state, then the destination's word. */
    private LastStep lastStep(Guest g, DirtyLog log, MemorySegment ram, Socket socket, DataOutputStream out,
                              DataInputStream in) throws SnapshotException {
        long stopped = System.nanoTime();
        try {
            int[] last = log.drain();
            byte[] state = stateBytes(g);
            MigrationWire.writePages(out, ram, last);
            if (VERIFY) {
                MigrationWire.writeVerify(out, ram);
            }
            MigrationWire.writeState(out, state);
            out.flush();
            socket.setSoTimeout(ANSWER_TIMEOUT_MS);
            String refusal = MigrationWire.readAnswer(in);
            if (refusal != null) {
                throw new SnapshotException("the destination " + destination() + " refused the guest: " + refusal
                        + "; the guest runs on here");
            }
            long downtime = System.nanoTime() - stopped;
            stopLogging(log);
            guest.endMigrated(g, "migrated to " + destination());
            return new LastStep(last.length, downtime);
        } catch (IOException e) {
            throw new SnapshotException("the migration to " + destination() + " broke off in its last step ("
                    + describe(e) + "); the guest runs on here");
        }
    }

    private void stopLogging(DirtyLog log) {
        Guest g = guest.guest().orElse(null);
        if (g != null && g.memory.dirtyLog() == log) {
            g.memory.logWrites(null);
        }
        if (guest.devices().memory().dirtyLog() == log) {
            guest.devices().memory().logWrites(null);
        }
    }

    /** The pages of {@code ram} that are not all zero now. */
    static int[] nonZeroPages(MemorySegment ram) {
        int page = PhysicalMemory.PAGE_SIZE;
        int[] pfns = new int[(int) (ram.byteSize() / page)];
        int n = 0;
        for (long offset = 0; offset + page <= ram.byteSize(); offset += page) {
            if (MemorySegment.mismatch(ram, offset, offset + page, ZERO_PAGE, 0, page) >= 0) {
                pfns[n++] = (int) (offset / page);
            }
        }
        return Arrays.copyOf(pfns, n);
    }

    private static String describe(IOException e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
    }
}
