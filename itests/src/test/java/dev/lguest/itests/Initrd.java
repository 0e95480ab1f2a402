package dev.lguest.itests;

import dev.lguest.exam.Initramfs;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/**
 * Initrds for the test kernel's program mode: flat cpio "newc" archives of programs,
 * written by the exam kit's Initramfs (which also makes the Linux guest's directories,
 * links and device nodes), so that no cpio tool is needed.
 */
final class Initrd {
    private Initrd() {
    }

    /** An archive of these files, in this order (use a LinkedHashMap), each mode 0755. */
    static byte[] newc(Map<String, byte[]> files) {
        Initramfs archive = new Initramfs();
        files.forEach((name, data) -> archive.file(name, 0755, data));
        return archive.cpio();
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
}
