package dev.lguest.launcher;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** A gzip initrd reaches the guest inflated; anything else, as it is. */
class InflatedInitrdTest {
    /** The start of a newc cpio archive, as the kernel looks for it. */
    private static final byte[] ARCHIVE = ("070701" + "0".repeat(2000) + "TRAILER!!!").getBytes(StandardCharsets.US_ASCII);

    private static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(bytes)) {
            out.write(data);
        }
        return bytes.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    private static byte[] inflated(byte[] file) {
        return InflatedInitrd.inflatedOrAsIs(file, size -> true);
    }

    @Test
    void aGzipArchiveIsInflated() throws IOException {
        assertArrayEquals(ARCHIVE, inflated(gzip(ARCHIVE)));
    }

    @Test
    void membersWithZeroPaddingBetweenAndAfterAreInflatedInOrder() throws IOException {
        byte[] second = "070701second".getBytes(StandardCharsets.US_ASCII);
        byte[] file = concat(gzip(ARCHIVE), new byte[3], gzip(second), new byte[512]);
        assertArrayEquals(concat(ARCHIVE, second), inflated(file));
    }

    @Test
    void aMemberWithANameAndACommentIsInflated() {
        Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        deflater.setInput(ARCHIVE);
        deflater.finish();
        byte[] raw = new byte[ARCHIVE.length + 64];
        int n = deflater.deflate(raw);
        deflater.end();
        CRC32 crc = new CRC32();
        crc.update(ARCHIVE);
        byte[] header = {0x1f, (byte) 0x8b, 8, 0x08 | 0x10, 0, 0, 0, 0, 0, 3};
        byte[] trailer = new byte[8];
        for (int i = 0; i < 4; i++) {
            trailer[i] = (byte) (crc.getValue() >>> (8 * i));
            trailer[4 + i] = (byte) (ARCHIVE.length >>> (8 * i));
        }
        byte[] file = concat(header, "initramfs.cpio\0".getBytes(StandardCharsets.US_ASCII),
                "a comment\0".getBytes(StandardCharsets.US_ASCII), Arrays.copyOf(raw, n), trailer);
        assertArrayEquals(ARCHIVE, inflated(file));
    }

    @Test
    void aPlainArchiveIsGivenAsItIs() {
        assertSame(ARCHIVE, inflated(ARCHIVE));
    }

    @Test
    void somethingAppendedKeepsTheFileAsItIs() throws IOException {
        byte[] file = concat(gzip(ARCHIVE), ARCHIVE);
        assertSame(file, inflated(file));
    }

    @Test
    void aDamagedStreamIsTheGuestsToRefuse() throws IOException {
        byte[] whole = gzip(ARCHIVE);
        byte[] cut = Arrays.copyOf(whole, whole.length - 5);
        assertSame(cut, inflated(cut));
        byte[] badCrc = whole.clone();
        badCrc[badCrc.length - 8] ^= 1;
        assertSame(badCrc, inflated(badCrc));
        byte[] badData = whole.clone();
        badData[12] ^= 0x55;
        assertSame(badData, inflated(badData));
        byte[] reservedFlag = whole.clone();
        reservedFlag[3] = (byte) 0x80;
        assertSame(reservedFlag, inflated(reservedFlag));
    }

    @Test
    void anArchiveThatWouldNotFitIsGivenCompressed() throws IOException {
        byte[] file = gzip(new byte[1 << 20]);
        assertSame(file, InflatedInitrd.inflatedOrAsIs(file, size -> size <= 100_000));
    }

    @Test
    void theLauncherReadsAGzipInitrdInflatedWhenAsked(@TempDir Path dir) throws Exception {
        Path initrd = dir.resolve("initramfs.cpio.gz");
        Files.write(initrd, gzip(ARCHIVE));
        assertArrayEquals(ARCHIVE, LauncherComponent.readInitrd(initrd, new GuestLayout(16L << 20), 16, true));
    }

    @Test
    void unaskedTheLauncherGivesTheGuestTheFileAsItIs(@TempDir Path dir) throws Exception {
        Path initrd = dir.resolve("initramfs.cpio.gz");
        byte[] file = gzip(ARCHIVE);
        Files.write(initrd, file);
        assertArrayEquals(file, LauncherComponent.readInitrd(initrd, new GuestLayout(16L << 20), 16, false));
    }
}
