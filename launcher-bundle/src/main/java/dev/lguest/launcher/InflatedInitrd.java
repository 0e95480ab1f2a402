package dev.lguest.launcher;

import java.io.ByteArrayOutputStream;
import java.util.function.LongPredicate;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A gzip-compressed initrd handed to the guest inflated.
 *
 * Linux takes its initramfs as cpio archives, each plain or gzip-compressed, with zero
 * bytes between them (init/initramfs.c), and an old-style initrd image plain or
 * compressed too: what the guest unpacks is the same either way. Inflating is the
 * guest's longest piece of work at boot, done by its CPU, which here is an emulated
 * one: the shared smoke initramfs (730 KB, 1.2 MB inflated) took 0.86 s of a Linux
 * boot's guest time and about 1 s of CPU, where the host's zlib inflates it in a few
 * milliseconds. So the Launcher inflates a gzip initrd itself and gives the guest the
 * archive inside, which the kernel then only copies.
 *
 * Only a file that is nothing but gzip members (with zero padding between or after
 * them), each whole and with a matching CRC and length, is inflated, and only if the
 * result fits where the initrd goes. Anything else (a plain cpio, an archive with
 * something appended, a damaged stream, other compressors) is given to the guest as
 * it is, to be unpacked or refused by the guest as it would be without this; so the
 * file is never judged here, and a hostile one costs at most the bounded inflating.
 */
final class InflatedInitrd {
    private static final int MAGIC_1 = 0x1f;
    private static final int MAGIC_2 = 0x8b;
    private static final int METHOD_DEFLATE = 8;
    private static final int FLAG_HEADER_CRC = 0x02;
    private static final int FLAG_EXTRA = 0x04;
    private static final int FLAG_NAME = 0x08;
    private static final int FLAG_COMMENT = 0x10;
    private static final int FLAGS_RESERVED = 0xe0;
    private static final int HEADER_BYTES = 10;
    private static final int TRAILER_BYTES = 8;

    private InflatedInitrd() {
    }

    /** Whether the file starts as a gzip member does. */
    static boolean isGzip(byte[] file) {
        return file.length >= HEADER_BYTES && (file[0] & 0xff) == MAGIC_1 && (file[1] & 0xff) == MAGIC_2
                && file[2] == METHOD_DEFLATE;
    }

    /**
     * The archive inside {@code file} if it is wholly gzip members whose inflated
     * bytes {@code fits} allows (asked as the output grows, so it also bounds the
     * work); otherwise {@code file} itself.
     */
    static byte[] inflatedOrAsIs(byte[] file, LongPredicate fits) {
        if (!isGzip(file)) {
            return file;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(file.length * 2);
        Inflater inflater = new Inflater(true);
        try {
            int at = 0;
            while (at < file.length) {
                if (file[at] == 0) {
                    at++;
                    continue;
                }
                at = inflateMember(file, at, inflater, out, fits);
                if (at < 0) {
                    return file;
                }
                inflater.reset();
            }
            return out.toByteArray();
        } finally {
            inflater.end();
        }
    }

    /** Inflates the member at {@code at} onto {@code out}; returns where the next begins, or -1. */
    private static int inflateMember(byte[] file, int at, Inflater inflater, ByteArrayOutputStream out,
                                     LongPredicate fits) {
        int data = dataStart(file, at);
        if (data < 0) {
            return -1;
        }
        inflater.setInput(file, data, file.length - data);
        CRC32 crc = new CRC32();
        long memberBytes = 0;
        byte[] chunk = new byte[64 << 10];
        try {
            while (!inflater.finished()) {
                int n = inflater.inflate(chunk);
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    return -1;
                }
                crc.update(chunk, 0, n);
                memberBytes += n;
                out.write(chunk, 0, n);
                if (!fits.test(out.size())) {
                    return -1;
                }
            }
        } catch (DataFormatException e) {
            return -1;
        }
        int trailer = file.length - inflater.getRemaining();
        if (trailer + TRAILER_BYTES > file.length
                || readLe32(file, trailer) != (int) crc.getValue()
                || readLe32(file, trailer + 4) != (int) memberBytes) {
            return -1;
        }
        return trailer + TRAILER_BYTES;
    }

    /** Where the deflate data of the member at {@code at} starts (past its header), or -1. */
    private static int dataStart(byte[] file, int at) {
        if (at + HEADER_BYTES > file.length || (file[at] & 0xff) != MAGIC_1 || (file[at + 1] & 0xff) != MAGIC_2
                || file[at + 2] != METHOD_DEFLATE) {
            return -1;
        }
        int flags = file[at + 3] & 0xff;
        if ((flags & FLAGS_RESERVED) != 0) {
            return -1;
        }
        long p = at + HEADER_BYTES;
        if ((flags & FLAG_EXTRA) != 0) {
            if (p + 2 > file.length) {
                return -1;
            }
            p += 2 + ((file[(int) p] & 0xff) | (file[(int) p + 1] & 0xff) << 8);
        }
        if ((flags & FLAG_NAME) != 0) {
            p = pastZero(file, p);
        }
        if ((flags & FLAG_COMMENT) != 0) {
            p = pastZero(file, p);
        }
        if ((flags & FLAG_HEADER_CRC) != 0) {
            p += 2;
        }
        return p < 0 || p > file.length ? -1 : (int) p;
    }

    /** Past the zero byte that ends a string starting at {@code p}; -1 if there is none. */
    private static long pastZero(byte[] file, long p) {
        if (p < 0) {
            return -1;
        }
        for (long i = p; i < file.length; i++) {
            if (file[(int) i] == 0) {
                return i + 1;
            }
        }
        return -1;
    }

    private static int readLe32(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }
}
