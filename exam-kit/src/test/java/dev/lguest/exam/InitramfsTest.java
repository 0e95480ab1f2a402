/*
 * The newc format as Linux's initramfs unpacker reads it: one member's exact bytes
 * (header fields, name, padding), then each kind of member read back through the
 * format's fields: directories, files, symbolic links (target as data), character
 * and block devices (their numbers in the rdev fields), every member 4-byte aligned,
 * and the trailer last.
 */
package dev.lguest.exam;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class InitramfsTest {
    /** One member as the fields of its header, its name and its data. */
    private record Read(int[] fields, String name, byte[] data) {
        int mode() { return fields[1]; }
        int links() { return fields[4]; }
        int rdevMajor() { return fields[9]; }
        int rdevMinor() { return fields[10]; }
        String text() { return new String(data, StandardCharsets.UTF_8); }
    }

    @Test
    void oneFileIsHeaderNamePaddingDataPadding() {
        byte[] archive = new Initramfs().file("/init", 0755, "hi\n").cpio();
        String header = "070701" + "00000001" + "000081ED" + "00000000" + "00000000" + "00000001" + "00000000"
                + "00000003" + "00000000" + "00000000" + "00000000" + "00000000" + "00000005" + "00000000";
        // 110 header bytes + "init\0" = 115, padded to 116; data 3 bytes padded to 4.
        byte[] expected = concat(header.getBytes(StandardCharsets.US_ASCII), "init\0\0".getBytes(StandardCharsets.US_ASCII),
                "hi\n\0".getBytes(StandardCharsets.US_ASCII));
        assertArrayEquals(expected, Arrays.copyOf(archive, expected.length));
        assertEquals(120, expected.length);
    }

    @Test
    void everyKindOfMemberReadsBack() throws Exception {
        byte[] archive = new Initramfs()
                .directory("/dev", 0755)
                .directory("tmp", 01777)
                .file("/bin/busybox", 0755, new byte[] {1, 2, 3, 4, 5})
                .symlink("/bin/sh", "busybox")
                .characterDevice("/dev/console", 0600, 5, 1)
                .blockDevice("/dev/vda", 0660, 254, 0)
                .gzip();
        List<Read> members = read(new GZIPInputStream(new ByteArrayInputStream(archive)).readAllBytes());

        assertEquals(List.of("dev", "tmp", "bin/busybox", "bin/sh", "dev/console", "dev/vda", "TRAILER!!!"),
                members.stream().map(Read::name).toList());
        assertEquals(0040755, members.get(0).mode());
        assertEquals(2, members.get(0).links());
        assertEquals(0041777, members.get(1).mode());
        assertEquals(0100755, members.get(2).mode());
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5}, members.get(2).data());
        assertEquals(0120777, members.get(3).mode());
        assertEquals("busybox", members.get(3).text());
        assertEquals(0020600, members.get(4).mode());
        assertEquals(5, members.get(4).rdevMajor());
        assertEquals(1, members.get(4).rdevMinor());
        assertEquals(0, members.get(4).data().length);
        assertEquals(0060660, members.get(5).mode());
        assertEquals(254, members.get(5).rdevMajor());
        assertEquals(0, members.get(5).rdevMinor());
        int inode = 1;
        for (Read m : members.subList(0, 6)) {
            assertEquals(inode++, m.fields()[0], m.name() + "'s inode");
        }
    }

    @Test
    void namesAndPermissionsAreChecked() {
        Initramfs initramfs = new Initramfs();
        assertThrows(IllegalArgumentException.class, () -> initramfs.directory("/", 0755));
        assertThrows(IllegalArgumentException.class, () -> initramfs.file("TRAILER!!!", 0644, "x"));
        assertThrows(IllegalArgumentException.class, () -> initramfs.file("/bin/", 0644, "x"));
        assertThrows(IllegalArgumentException.class, () -> initramfs.file("/x", 0100644, "x"));
        assertThrows(IllegalArgumentException.class, () -> initramfs.symlink("/x", ""));
        assertEquals(1, read(initramfs.cpio()).size(), "nothing refused was added");
    }

    /** Reads an archive the way the kernel's unpacker walks it, checking the alignment. */
    private static List<Read> read(byte[] archive) {
        List<Read> members = new ArrayList<>();
        int at = 0;
        while (true) {
            assertEquals(0, at % 4, "a member starts 4-byte aligned");
            assertEquals("070701", new String(archive, at, 6, StandardCharsets.US_ASCII));
            int[] fields = new int[13];
            for (int i = 0; i < 13; i++) {
                fields[i] = (int) Long.parseLong(new String(archive, at + 6 + 8 * i, 8, StandardCharsets.US_ASCII), 16);
            }
            int nameSize = fields[11];
            String name = new String(archive, at + 110, nameSize - 1, StandardCharsets.UTF_8);
            assertEquals(0, archive[at + 110 + nameSize - 1], "the name ends with NUL");
            int dataAt = align(at + 110 + nameSize);
            byte[] data = Arrays.copyOfRange(archive, dataAt, dataAt + fields[6]);
            members.add(new Read(fields, name, data));
            at = align(dataAt + fields[6]);
            if (name.equals("TRAILER!!!")) {
                assertEquals(archive.length, at, "the trailer ends the archive");
                return members;
            }
        }
    }

    private static int align(int n) {
        return (n + 3) & ~3;
    }

    private static byte[] concat(byte[]... parts) {
        int length = 0;
        for (byte[] p : parts) {
            length += p.length;
        }
        byte[] all = new byte[length];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }
}
