package dev.lguest.itests;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/**
 * Initrds for the test kernel's program mode: cpio "newc" archives, as Linux's
 * initramfs uses, written here so that no cpio tool is needed. A newc member is an
 * ASCII header ("070701" and thirteen 8-digit hex fields), the name with its NUL, and
 * the data; the header plus name and the data are each padded with zeroes to 4 bytes,
 * and a member named "TRAILER!!!" ends the archive.
 */
final class Initrd {
    private static final int REGULAR_FILE_0755 = 0100755;

    private Initrd() {
    }

    /** An archive of these files, in this order (use a LinkedHashMap), each mode 0755. */
    static byte[] newc(Map<String, byte[]> files) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int inode = 1;
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            member(out, inode++, REGULAR_FILE_0755, f.getKey(), f.getValue());
        }
        member(out, 0, 0, "TRAILER!!!", new byte[0]);
        return out.toByteArray();
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(data);
        }
        return out.toByteArray();
    }

    /** Writes an archive to a temporary file, which the caller deletes. */
    static Path file(byte[] archive) throws IOException {
        Path path = Files.createTempFile("testkernel-initrd", ".cpio");
        Files.write(path, archive);
        return path;
    }

    private static void member(ByteArrayOutputStream out, int inode, int mode, String name, byte[] data) {
        byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.US_ASCII);
        int[] fields = {inode, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0};
        StringBuilder header = new StringBuilder("070701");
        for (int field : fields) {
            header.append(String.format("%08X", field));
        }
        out.writeBytes(header.toString().getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(nameBytes);
        pad(out, 110 + nameBytes.length);
        out.writeBytes(data);
        pad(out, data.length);
    }

    private static void pad(ByteArrayOutputStream out, int length) {
        out.writeBytes(new byte[(4 - length % 4) % 4]);
    }
}
