/*
 * An initramfs built by a test: directories, files, symbolic links and device nodes,
 * written as the cpio "newc" archive Linux unpacks into its first root file system
 * (and the test kernel reads as its initrd). No cpio tool and no root rights are
 * needed, which is why device nodes are made here: 2.6.24 has no devtmpfs, and a
 * kernel that finds no /dev/console in its initramfs starts /init with no console.
 *
 *   byte[] gz = new Initramfs()
 *           .directory("/bin", 0755).directory("/dev", 0755)
 *           .file("/bin/busybox", 0755, busybox).symlink("/bin/sh", "busybox")
 *           .characterDevice("/dev/console", 0600, 5, 1)
 *           .file("/init", 0755, script).gzip();
 *
 * A newc member is a 110-byte ASCII header ("070701" then thirteen 8-digit hex
 * fields: inode, mode, uid, gid, links, mtime, size, the device of the file's file
 * system, the device a node stands for, name size, checksum), the name with its NUL,
 * then the data; header plus name, and data, are each padded with zeroes to 4 bytes.
 * A symbolic link's data is its target. A member named "TRAILER!!!" ends the archive.
 * Members are written in the order added: add a directory before what it holds, since
 * the kernel does not create missing parents. Names are stored without the leading
 * slash, as the kernel's own gen_init_cpio does.
 */
package dev.lguest.exam;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;

public final class Initramfs {
    /** The file type bits of a newc mode, as in stat's st_mode. */
    static final int DIRECTORY = 0040000;
    static final int REGULAR = 0100000;
    static final int SYMLINK = 0120000;
    static final int CHARACTER_DEVICE = 0020000;
    static final int BLOCK_DEVICE = 0060000;
    private static final String TRAILER = "TRAILER!!!";
    private static final int HEADER_BYTES = 110;

    private record Member(String name, int mode, int links, byte[] data, int rdevMajor, int rdevMinor) {
    }

    private final List<Member> members = new ArrayList<>();

    /** A directory (permissions such as 0755, or 01777 for /tmp). */
    public Initramfs directory(String path, int permissions) {
        return add(path, DIRECTORY | permissions(permissions), 2, new byte[0], 0, 0);
    }

    /** A regular file holding {@code data}. */
    public Initramfs file(String path, int permissions, byte[] data) {
        return add(path, REGULAR | permissions(permissions), 1, data.clone(), 0, 0);
    }

    /** A regular file holding {@code text} (for scripts: UTF-8, as written). */
    public Initramfs file(String path, int permissions, String text) {
        return file(path, permissions, text.getBytes(StandardCharsets.UTF_8));
    }

    /** A symbolic link to {@code target} (relative targets resolve from the link's directory). */
    public Initramfs symlink(String path, String target) {
        if (target.isEmpty()) {
            throw new IllegalArgumentException("a symbolic link needs a target: " + path);
        }
        return add(path, SYMLINK | 0777, 1, target.getBytes(StandardCharsets.UTF_8), 0, 0);
    }

    /** A character device node, such as /dev/console (5, 1). */
    public Initramfs characterDevice(String path, int permissions, int major, int minor) {
        return add(path, CHARACTER_DEVICE | permissions(permissions), 1, new byte[0], major, minor);
    }

    /** A block device node. */
    public Initramfs blockDevice(String path, int permissions, int major, int minor) {
        return add(path, BLOCK_DEVICE | permissions(permissions), 1, new byte[0], major, minor);
    }

    /** The archive: every member in the order added, then the trailer. */
    public byte[] cpio() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int inode = 1;
        for (Member m : members) {
            write(out, inode++, m);
        }
        write(out, 0, new Member(TRAILER, 0, 1, new byte[0], 0, 0));
        return out.toByteArray();
    }

    /** The archive gzip'ed, as initramfs images usually are. */
    public byte[] gzip() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(cpio());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Writes the gzip'ed archive to {@code file} and returns it. */
    public Path writeGzip(Path file) throws IOException {
        return Files.write(file, gzip());
    }

    private Initramfs add(String path, int mode, int links, byte[] data, int rdevMajor, int rdevMinor) {
        String name = path.startsWith("/") ? path.substring(1) : path;
        if (name.isEmpty() || name.equals(TRAILER) || name.endsWith("/") || name.contains("\0")) {
            throw new IllegalArgumentException("not a member name: \"" + path + "\"");
        }
        members.add(new Member(name, mode, links, data, rdevMajor, rdevMinor));
        return this;
    }

    private static int permissions(int permissions) {
        if ((permissions & ~07777) != 0) {
            throw new IllegalArgumentException("permissions beyond 07777: " + Integer.toOctalString(permissions));
        }
        return permissions;
    }

    private static void write(ByteArrayOutputStream out, int inode, Member m) {
        byte[] name = (m.name + "\0").getBytes(StandardCharsets.UTF_8);
        int[] fields = {inode, m.mode, 0, 0, m.links, 0, m.data.length, 0, 0, m.rdevMajor, m.rdevMinor,
                name.length, 0};
        StringBuilder header = new StringBuilder("070701");
        for (int field : fields) {
            header.append(String.format("%08X", field));
        }
        out.writeBytes(header.toString().getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(name);
        pad(out, HEADER_BYTES + name.length);
        out.writeBytes(m.data);
        pad(out, m.data.length);
    }

    private static void pad(ByteArrayOutputStream out, int length) {
        out.writeBytes(new byte[(4 - length % 4) % 4]);
    }
}
