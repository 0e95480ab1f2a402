package dev.lguest.launcher;

import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.snapshot.SnapshotException;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * What a live migration sends over its TCP connection, big-endian:
 *
 * <pre>
 *   source:  magic 0x89 'L' 'G' 'M' 'I' 'G' 'R' '\n', u32 version,
 *            u64 guest memory bytes, u64 memory bytes with the device pages
 *            then records:
 *              u8 1 PAGES   u32 count, count times (u32 page number, 4096 bytes)
 *              u8 2 STATE   u32 length, a snapshot (SnapshotFile) whose memory section holds no pages
 *              u8 3 VERIFY  u32 count, a CRC32 of every page (only with -Dlguest.migration.verify=true:
 *                           the destination compares its copy before the state and refuses a difference)
 *              u8 4 REHEARSAL  u32 length, a snapshot as STATE's, taken as the pre-copy begins: the
 *                           destination runs its restore's checks on it and keeps nothing, so that code
 *                           has run once before the guest stops for the last step
 *   destination, after STATE:  u8 1 RUNNING, or u8 2 REFUSED, u32 length, UTF-8 reason
 * </pre>
 *
 * Pages travel raw: on this machine's loopback copying is cheaper than compressing,
 * and the guest's last step, which it stands still for, is mostly this copy. Zero
 * pages are left out of the first round (the destination's memory starts zeroed).
 * The destination reads everything as hostile input: a page number outside its
 * memory, a count or length out of bounds, or a record it does not know ends the
 * migration with one line.
 */
final class MigrationWire {
    static final byte[] MAGIC = {(byte) 0x89, 'L', 'G', 'M', 'I', 'G', 'R', '\n'};
    static final int VERSION = 2;
    static final int PAGES = 1;
    static final int STATE = 2;
    static final int VERIFY = 3;
    static final int REHEARSAL = 4;
    static final int RUNNING = 1;
    static final int REFUSED = 2;
    static final int MAX_STATE_BYTES = 16 << 20;
    private static final int PAGE = PhysicalMemory.PAGE_SIZE;
    private static final int MAX_REASON_BYTES = 1024;

    private MigrationWire() {
    }

    static void writeHeader(DataOutputStream out, long memoryBytes, long totalBytes) throws IOException {
        out.write(MAGIC);
        out.writeInt(VERSION);
        out.writeLong(memoryBytes);
        out.writeLong(totalBytes);
    }

    /** Reads the header; returns {guest memory bytes, total bytes}. */
    static long[] readHeader(DataInputStream in) throws IOException, SnapshotException {
        byte[] magic = new byte[MAGIC.length];
        in.readFully(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new SnapshotException("the peer is not an lguest migration (no migration header)");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new SnapshotException("migration protocol version " + Integer.toUnsignedLong(version)
                    + "; this build speaks version " + VERSION);
        }
        return new long[] {in.readLong(), in.readLong()};
    }

    /** One PAGES record: the pages {@code pfns} of {@code ram}, as they are now. */
    static void writePages(DataOutputStream out, MemorySegment ram, int[] pfns) throws IOException {
        out.writeByte(PAGES);
        out.writeInt(pfns.length);
        byte[] page = new byte[PAGE];
        for (int pfn : pfns) {
            MemorySegment.copy(ram, ValueLayout.JAVA_BYTE, (long) pfn * PAGE, page, 0, PAGE);
            out.writeInt(pfn);
            out.write(page);
        }
    }

    /** The rest of a PAGES record (its mark read), into {@code ram}; returns the pages read. */
    static int readPages(DataInputStream in, MemorySegment ram) throws IOException, SnapshotException {
        long limit = ram.byteSize() / PAGE;
        int count = in.readInt();
        if (count < 0 || count > limit) {
            throw new SnapshotException("the migration sends " + Integer.toUnsignedLong(count)
                    + " pages at once; the guest has " + limit);
        }
        byte[] page = new byte[PAGE];
        for (int i = 0; i < count; i++) {
            long pfn = Integer.toUnsignedLong(in.readInt());
            if (pfn >= limit) {
                throw new SnapshotException("the migration sends page " + pfn + " of a guest of " + limit + " pages");
            }
            in.readFully(page);
            MemorySegment.copy(page, 0, ram, ValueLayout.JAVA_BYTE, pfn * PAGE, PAGE);
        }
        return count;
    }

    /** A VERIFY record: the CRC32 of every page of {@code ram}. */
    static void writeVerify(DataOutputStream out, MemorySegment ram) throws IOException {
        int pages = (int) (ram.byteSize() / PAGE);
        out.writeByte(VERIFY);
        out.writeInt(pages);
        for (int pfn = 0; pfn < pages; pfn++) {
            out.writeInt(pageCrc(ram, pfn));
        }
    }

    /** The rest of a VERIFY record: refuses if a page of {@code ram} differs from the source's. */
    static void checkVerify(DataInputStream in, MemorySegment ram) throws IOException, SnapshotException {
        int pages = in.readInt();
        if (pages != ram.byteSize() / PAGE) {
            throw new SnapshotException("the migration checks " + Integer.toUnsignedLong(pages) + " pages of "
                    + ram.byteSize() / PAGE);
        }
        StringBuilder differ = new StringBuilder();
        int count = 0;
        for (int pfn = 0; pfn < pages; pfn++) {
            if (in.readInt() != pageCrc(ram, pfn)) {
                if (count++ < 16) {
                    differ.append(String.format(" %#x", pfn));
                }
            }
        }
        if (count > 0) {
            throw new SnapshotException(count + " pages arrived different from the source's:" + differ);
        }
    }

    private static int pageCrc(MemorySegment ram, int pfn) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(ram.asSlice((long) pfn * PAGE, PAGE).asByteBuffer());
        return (int) crc.getValue();
    }

    static void writeState(DataOutputStream out, byte[] snapshot) throws IOException {
        writeSnapshot(out, STATE, snapshot);
    }

    static void writeRehearsal(DataOutputStream out, byte[] snapshot) throws IOException {
        writeSnapshot(out, REHEARSAL, snapshot);
    }

    private static void writeSnapshot(DataOutputStream out, int record, byte[] snapshot) throws IOException {
        out.writeByte(record);
        out.writeInt(snapshot.length);
        out.write(snapshot);
    }

    /** The rest of a STATE record (its mark read): the snapshot's bytes. */
    static byte[] readState(DataInputStream in) throws IOException, SnapshotException {
        int length = in.readInt();
        if (length < 0 || length > MAX_STATE_BYTES) {
            throw new SnapshotException("the migration's guest state is " + Integer.toUnsignedLong(length)
                    + " bytes long");
        }
        byte[] state = new byte[length];
        in.readFully(state);
        return state;
    }

    static void writeAnswer(DataOutputStream out, String refusal) throws IOException {
        if (refusal == null) {
            out.writeByte(RUNNING);
        } else {
            byte[] reason = refusal.getBytes(StandardCharsets.UTF_8);
            out.writeByte(REFUSED);
            out.writeInt(Math.min(reason.length, MAX_REASON_BYTES));
            out.write(reason, 0, Math.min(reason.length, MAX_REASON_BYTES));
        }
        out.flush();
    }

    /** The destination's answer: null if it runs the guest, else why it refused. */
    static String readAnswer(DataInputStream in) throws IOException {
        int answer = in.readUnsignedByte();
        if (answer == RUNNING) {
            return null;
        }
        if (answer != REFUSED) {
            return "an answer the source does not know (" + answer + ")";
        }
        int length = in.readInt();
        if (length < 0 || length > MAX_REASON_BYTES) {
            return "a reason of " + Integer.toUnsignedLong(length) + " bytes";
        }
        byte[] reason = new byte[length];
        in.readFully(reason);
        return new String(reason, StandardCharsets.UTF_8);
    }
}
