package dev.lguest.itests;

import org.junit.After;
import org.junit.Assume;
import org.junit.Before;
import org.junit.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * Spoilt files given to the real `lguest` command, and the real Linux guest's disk
 * failing under it (see LinuxGuest; skipped where there is no kernel). Before the
 * start: a vmlinux cut short, a bzImage whose setup header is damaged, an initrd
 * larger than the guest's memory are each one line and exit status 1. While the guest
 * runs: a disk on a full file system (a 1 MiB tmpfs, where we may mount one) gives the
 * guest I/O errors for what does not fit and the Launcher runs on, the image holding
 * exactly what was written; a disk deleted under the guest stays its disk. Never a
 * Java stack trace.
 */
public class BadFilesIT {
    private static final byte PATTERN = 0x3c;

    private Path work;

    @Before
    public void kernelAndWorkDirectory() throws IOException {
        LinuxGuest.assumeKernel();
        work = Files.createTempDirectory("bad-files");
    }

    @After
    public void removeWorkDirectory() throws IOException {
        if (work == null) {
            return;
        }
        try (var files = Files.walk(work)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static Path kernelFile(String name) {
        return LinuxGuest.directory().resolve(name).toAbsolutePath().normalize();
    }

    private static void assertOneLineAndStatus1(LguestProcess.Result result, String line) {
        assertEquals(result.toString(), 1, result.exitCode());
        assertEquals(result.toString(), "lguest: " + line + "\n", result.err());
        assertEquals(result.toString(), "", result.out());
    }

    private static void assertNoStackTrace(LguestProcess.Result result) {
        for (String stream : new String[] {result.out(), result.err()}) {
            assertFalse(result.toString(), stream.contains("Exception") || stream.contains("\tat "));
        }
    }

    @Test
    public void spoiltKernelsAndAnInitrdTooLargeAreOneLineBeforeTheStart() throws Exception {
        Path cut = work.resolve("vmlinux-cut");
        Files.write(cut, Arrays.copyOf(Files.readAllBytes(kernelFile(LinuxGuest.KERNEL)), 1_100_000));
        assertOneLineAndStatus1(LguestProcess.run("lguest", "64", cut.toString()), cut
                + " is truncated: segment 1 (file bytes 0x101000-0x138085) ends beyond the file's 1100000 bytes");

        Path bzImage = work.resolve("bzImage-corrupt");
        byte[] image = Files.readAllBytes(kernelFile("bzImage-2.6.24-lguest"));
        image[0x1f1] = 16; // setup_sects: the kernel would start 4 sectors too early
        Files.write(bzImage, image);
        assertOneLineAndStatus1(LguestProcess.run("lguest", "64", bzImage.toString()), bzImage
                + " has a corrupt setup header: 16 setup sectors leave 629384 bytes of kernel, its syssize says 627344");

        Path initrd = work.resolve("initrd-70m");
        try (RandomAccessFile big = new RandomAccessFile(initrd.toFile(), "rw")) {
            big.setLength(70L << 20);
        }
        assertOneLineAndStatus1(LguestProcess.run("lguest", "64", kernelFile(LinuxGuest.KERNEL).toString(),
                "--initrd=" + initrd), "the initrd " + initrd + " (73400320 bytes) does not fit in 64 MB of guest memory");
    }

    private static int run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor();
    }

    /** The guest's /dev/vda node, made from sysfs (2.6.24 has no devtmpfs). */
    private static final String MAKE_VDA = """
            #!/bin/sh
            mount -t proc proc /proc
            mount -t sysfs sysfs /sys
            vda=$(cat /sys/block/vda/dev)
            mknod /dev/vda b ${vda%%:*} ${vda##*:}
            """;

    @Test
    public void theGuestWritingToADiskOnAFullFileSystemGetsIoErrorsAndTheLauncherRunsOn() throws Exception {
        Path mount = Files.createDirectory(work.resolve("small"));
        Assume.assumeTrue("cannot mount a 1 MiB tmpfs here (not root?): skipping the full-disk run",
                run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount.toString()) == 0);
        try {
            // A 2 MiB disk: its first 64 KiB written (a pattern), the rest a hole, on a
            // file system that another file then fills to its last page.
            Path disk = mount.resolve("disk.img");
            byte[] head = new byte[64 << 10];
            Arrays.fill(head, PATTERN);
            Files.write(disk, head);
            try (RandomAccessFile grown = new RandomAccessFile(disk.toFile(), "rw")) {
                grown.setLength(2 << 20);
            }
            try (OutputStream filler = Files.newOutputStream(mount.resolve("filler"))) {
                for (byte[] page = new byte[4096]; ; ) {
                    filler.write(page);
                }
            } catch (IOException full) {
                // Full.
            }
            Path initrd = work.resolve("initrd.gz");
            LinuxGuest.initramfs(MAKE_VDA + """
                    if dd if=/dev/zero of=/dev/vda bs=4096 seek=1 count=1 conv=fsync 2>/dev/null
                    then echo "CHECK inside written"; else echo "CHECK inside failed"; fi
                    if dd if=/dev/zero of=/dev/vda bs=4096 seek=256 count=4 conv=fsync 2>/tmp/err
                    then echo "CHECK hole written"; else echo "CHECK hole failed: $(cat /tmp/err)"; fi
                    echo "CHECK still running"
                    poweroff -f
                    """, Map.of()).writeGzip(initrd);

            LguestProcess.Result result = LguestProcess.run("lguest", "64", kernelFile(LinuxGuest.KERNEL).toString(),
                    "--initrd=" + initrd, "--block=" + disk);
            assertNoStackTrace(result);
            assertEquals(result.toString(), 0, result.exitCode());
            assertTrue(result.toString(), result.out().contains("CHECK inside written"));
            assertTrue(result.toString(), result.out().contains("CHECK hole failed: dd: /dev/vda: I/O error"));
            assertTrue("the guest's kernel saw the error: " + result, result.out().contains("I/O error, dev vda"));
            assertTrue(result.toString(), result.out().contains("CHECK still running"));
            assertEquals(result.toString(), "lguest: disk " + disk + ": No space left on device; the guest gets an "
                    + "I/O error for each request the host fails\n", result.err());

            byte[] expected = new byte[2 << 20];
            System.arraycopy(head, 0, expected, 0, head.length);
            Arrays.fill(expected, 4096, 8192, (byte) 0);
            assertArrayEquals("the image holds what was written, nothing else", expected, Files.readAllBytes(disk));
        } finally {
            run("umount", mount.toString());
        }
    }

    @Test
    public void aDiskDeletedWhileTheGuestRunsStaysItsDisk() throws Exception {
        Path disk = work.resolve("disk.img");
        Files.write(disk, new byte[64 << 10]);
        Path initrd = work.resolve("initrd.gz");
        // The guest says when it is up, then waits for a line on its console while the host deletes the file.
        LinuxGuest.initramfs(MAKE_VDA + """
                echo "CHECK ready"
                read line
                echo "written after the delete" | dd of=/dev/vda bs=512 seek=2 conv=sync,fsync 2>/dev/null
                echo 3 > /proc/sys/vm/drop_caches
                echo "CHECK reread $(dd if=/dev/vda bs=512 skip=2 count=1 2>/dev/null | head -1)"
                poweroff -f
                """, Map.of()).writeGzip(initrd);
        Path out = work.resolve("out.txt");
        Path err = work.resolve("err.txt");
        Process lguest = new ProcessBuilder(LguestProcess.command("lguest", "64",
                kernelFile(LinuxGuest.KERNEL).toString(), "--initrd=" + initrd, "--block=" + disk))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try (OutputStream console = lguest.getOutputStream()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LguestProcess.TIMEOUT_SECONDS);
            while (!Files.readString(out, StandardCharsets.ISO_8859_1).contains("CHECK ready")) {
                assertTrue("the guest did not come up: " + Files.readString(out, StandardCharsets.ISO_8859_1)
                        + Files.readString(err, StandardCharsets.ISO_8859_1), lguest.isAlive() && System.nanoTime() < deadline);
                Thread.sleep(100);
            }
            Files.delete(disk);
            console.write("go\n".getBytes(StandardCharsets.US_ASCII));
        }
        boolean ended = lguest.waitFor(LguestProcess.TIMEOUT_SECONDS, TimeUnit.SECONDS);
        if (!ended) {
            lguest.destroyForcibly().waitFor();
        }
        LguestProcess.Result result = new LguestProcess.Result(ended ? lguest.exitValue() : -1,
                Files.readString(out, StandardCharsets.ISO_8859_1), Files.readString(err, StandardCharsets.ISO_8859_1));
        assertTrue("the Launcher ended: " + result, ended);
        assertNoStackTrace(result);
        assertEquals(result.toString(), 0, result.exitCode());
        assertTrue(result.toString(), result.out().contains("CHECK reread written after the delete"));
        assertEquals(result.toString(), "", result.err());
        assertFalse(Files.exists(disk));
    }
}
