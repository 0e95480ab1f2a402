package dev.lguest.api;

import dev.lguest.api.snapshot.SectionReader;
import dev.lguest.api.snapshot.SectionWriter;
import dev.lguest.api.snapshot.SnapshotException;
import dev.lguest.api.snapshot.SnapshotFile;
import dev.lguest.api.snapshot.SnapshotFile.Contents;
import dev.lguest.api.snapshot.SnapshotFile.Section;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The snapshot file: what is written is read back, and every kind of bad file is one clear refusal. */
class SnapshotFileTest {
    private static final Contents SAMPLE = new Contents("lguest 0.1.0 (test)", 1234567890123L, List.of(
            new Section("dev.lguest.api.traps.TrapDelivery", 1,
                    new SectionWriter().writeInts(new int[]{1, 2, 3}).writeLong(-5).writeString("x").toByteArray()),
            new Section("dev.lguest.api.segments.SegmentManager", 7, new byte[0])));

    private static byte[] bytes(Contents c) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SnapshotFile.write(out, c);
        return out.toByteArray();
    }

    private static String refusal(byte[] file) {
        return assertThrows(SnapshotException.class, () -> SnapshotFile.parse(file)).getMessage();
    }

    @Test
    void roundTripKeepsBuildTimeAndSectionsInOrder(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("guest.snap");
        long size = SnapshotFile.write(file, SAMPLE);
        assertEquals(Files.size(file), size);
        Contents back = SnapshotFile.read(file);
        assertEquals(SAMPLE.build(), back.build());
        assertEquals(SAMPLE.savedAtMillis(), back.savedAtMillis());
        assertEquals(List.of("dev.lguest.api.traps.TrapDelivery", "dev.lguest.api.segments.SegmentManager"),
                back.sections().stream().map(Section::name).toList());
        Section traps = back.section("dev.lguest.api.traps.TrapDelivery").orElseThrow();
        assertEquals(1, traps.version());
        SectionReader r = new SectionReader(traps.name(), traps.payload());
        assertArrayEquals(new int[]{1, 2, 3}, r.readInts(3));
        assertEquals(-5, r.readLong());
        assertEquals("x", r.readString(10));
        r.expectEnd();
        assertEquals(7, back.section("dev.lguest.api.segments.SegmentManager").orElseThrow().version());
        try (var listing = Files.list(dir)) {
            assertEquals(1, listing.count(), "no partial file is left next to the snapshot");
        }
    }

    @Test
    void everyCutOfTheFileIsTruncated() throws Exception {
        byte[] whole = bytes(SAMPLE);
        for (int length = SnapshotFile.MAGIC.length; length < whole.length; length++) {
            String message = refusal(Arrays.copyOf(whole, length));
            assertTrue(message.startsWith("truncated snapshot") || message.startsWith("corrupt snapshot"),
                    "cut at " + length + ": " + message);
        }
        assertTrue(refusal(Arrays.copyOf(whole, whole.length - 1)).startsWith("truncated snapshot"));
    }

    @Test
    void aFlippedBitInASectionFailsItsChecksum() throws Exception {
        byte[] whole = bytes(SAMPLE);
        int inPayload = indexOf(whole, "dev.lguest.api.traps.TrapDelivery".getBytes()) + 34 + 8 + 2;
        whole[inPayload] ^= 0x10;
        assertEquals("corrupt snapshot: section dev.lguest.api.traps.TrapDelivery fails its checksum",
                refusal(whole));
    }

    @Test
    void aFlippedBitInTheHeaderFailsItsChecksum() throws Exception {
        byte[] whole = bytes(SAMPLE);
        whole[SnapshotFile.MAGIC.length + 4 + 4 + 5] ^= 1;
        assertEquals("corrupt snapshot: the header fails its checksum", refusal(whole));
    }

    @Test
    void aForeignFileIsNotASnapshot() {
        assertEquals("not an lguest snapshot (no snapshot header)", refusal("#!/bin/sh\necho hi\n".getBytes()));
        assertEquals("not an lguest snapshot (no snapshot header)", refusal(new byte[0]));
    }

    @Test
    void anotherFormatVersionIsRefusedByNumber() throws Exception {
        byte[] whole = bytes(SAMPLE);
        whole[SnapshotFile.MAGIC.length + 3] = 2;
        assertEquals("snapshot format version 2; this build reads version 1", refusal(whole));
    }

    @Test
    void bytesAfterTheEndAreRefused() throws Exception {
        byte[] whole = bytes(SAMPLE);
        assertTrue(refusal(Arrays.copyOf(whole, whole.length + 3)).contains("3 bytes after its end"));
    }

    @Test
    void aMissingFileIsOneLine(@TempDir Path dir) {
        String message = assertThrows(SnapshotException.class,
                () -> SnapshotFile.read(dir.resolve("nothing.snap"))).getMessage();
        assertTrue(message.endsWith("no such file"), message);
    }

    @Test
    void aSectionReaderRefusesWhatItWasNotWritten() {
        byte[] payload = new SectionWriter().writeInts(new int[]{1, 2}).writeInt(7).toByteArray();
        SectionReader wrongLength = new SectionReader("s", payload);
        assertEquals("section s has an array of 2 where 3 belong",
                assertThrows(SnapshotException.class, () -> wrongLength.readInts(3)).getMessage());
        SectionReader shortOne = new SectionReader("s", payload);
        assertThrows(SnapshotException.class, () -> {
            shortOne.readInts(2);
            shortOne.readInt();
            shortOne.readInt();
        });
        SectionReader longOne = new SectionReader("s", payload);
        assertEquals("section s has 4 bytes too many", assertThrows(SnapshotException.class, () -> {
            longOne.readInts(2);
            longOne.expectEnd();
        }).getMessage());
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }
}
