package dev.lguest.launcher;

import dev.lguest.api.snapshot.SnapshotException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The migration stream as the destination reads it: pages land where their numbers
 * say, and everything a hostile or broken source could send (a page outside the
 * guest, a count past its size, a foreign or newer header, a stream cut short, a copy
 * that differs from the checksums) is refused with one line, never a stray write.
 */
class MigrationWireTest {
    private static final int PAGES = 8;

    private static DataInputStream stream(byte[] bytes) {
        return new DataInputStream(new ByteArrayInputStream(bytes));
    }

    @Test
    void pagesArriveWhereTheirNumbersSay() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment source = arena.allocate(PAGES * 4096L, 4096);
            source.set(ValueLayout.JAVA_INT, 3 * 4096L + 8, 0x1234_5678);
            source.set(ValueLayout.JAVA_INT, 6 * 4096L, 42);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            MigrationWire.writeHeader(out, 1 << 20, PAGES * 4096L);
            MigrationWire.writePages(out, source, OutgoingMigration.nonZeroPages(source));
            MigrationWire.writeVerify(out, source);
            out.flush();

            DataInputStream in = stream(bytes.toByteArray());
            assertArrayEquals(new long[] {1 << 20, PAGES * 4096L}, MigrationWire.readHeader(in));
            assertEquals(MigrationWire.PAGES, in.readUnsignedByte());
            MemorySegment destination = arena.allocate(PAGES * 4096L, 4096);
            assertEquals(2, MigrationWire.readPages(in, destination), "only the pages that are not zero travel");
            assertEquals(MigrationWire.VERIFY, in.readUnsignedByte());
            MigrationWire.checkVerify(in, destination);
            assertEquals(-1, source.mismatch(destination));
        }
    }

    @Test
    void aCopyThatDiffersFromTheChecksumsIsRefused() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment source = arena.allocate(PAGES * 4096L, 4096);
            source.set(ValueLayout.JAVA_BYTE, 5 * 4096L, (byte) 1);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            MigrationWire.writeVerify(new DataOutputStream(bytes), source);
            DataInputStream in = stream(bytes.toByteArray());
            in.readUnsignedByte();
            SnapshotException e = assertThrows(SnapshotException.class,
                    () -> MigrationWire.checkVerify(in, arena.allocate(PAGES * 4096L, 4096)));
            assertEquals("1 pages arrived different from the source's: 0x5", e.getMessage());
        }
    }

    @Test
    void aPageOutsideTheGuestIsRefusedBeforeItIsWritten() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeInt(1);
        out.writeInt(PAGES);
        out.write(new byte[4096]);
        try (Arena arena = Arena.ofConfined()) {
            SnapshotException e = assertThrows(SnapshotException.class,
                    () -> MigrationWire.readPages(stream(bytes.toByteArray()), arena.allocate(PAGES * 4096L)));
            assertEquals("the migration sends page 8 of a guest of 8 pages", e.getMessage());
        }
    }

    @Test
    void aCountPastTheGuestOrAStateTooLongIsRefused() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            assertTrue(assertThrows(SnapshotException.class, () -> MigrationWire.readPages(
                    stream(new byte[] {0, 0, 0, 9}), arena.allocate(PAGES * 4096L))).getMessage()
                    .contains("9 pages at once"));
        }
        assertTrue(assertThrows(SnapshotException.class, () -> MigrationWire.readState(
                stream(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff}))).getMessage()
                .contains("4294967295 bytes long"));
    }

    @Test
    void aForeignOrNewerHeaderIsOneLine() throws Exception {
        assertEquals("the peer is not an lguest migration (no migration header)", assertThrows(
                SnapshotException.class, () -> MigrationWire.readHeader(stream("GET / HTTP/1.0\r\n\r\n".getBytes())))
                .getMessage());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(MigrationWire.MAGIC);
        out.writeInt(7);
        assertEquals("migration protocol version 7; this build speaks version 2", assertThrows(
                SnapshotException.class, () -> MigrationWire.readHeader(stream(bytes.toByteArray()))).getMessage());
    }

    @Test
    void aStreamCutShortIsAnEndOfFileNotAPartialPage() {
        assertThrows(EOFException.class, () -> {
            try (Arena arena = Arena.ofConfined()) {
                MigrationWire.readPages(stream(new byte[] {0, 0, 0, 1, 0, 0, 0, 2, 1, 2, 3}),
                        arena.allocate(PAGES * 4096L));
            }
        });
    }

    @Test
    void theAnswerSaysRunningOrWhy() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        MigrationWire.writeAnswer(out, null);
        MigrationWire.writeAnswer(out, "this build has no virtio block device");
        DataInputStream in = stream(bytes.toByteArray());
        assertNull(MigrationWire.readAnswer(in));
        assertEquals("this build has no virtio block device", MigrationWire.readAnswer(in));
    }
}
