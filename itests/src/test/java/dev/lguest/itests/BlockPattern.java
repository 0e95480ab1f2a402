/*
 * The host's copy of the test kernel's blockcheck pattern and CRC, so ITs can check
 * what the guest printed and what it left in the disk file.
 */
package dev.lguest.itests;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;

/**
 * The test kernel's blockcheck pattern (guest/testkernel/blockcheck.c), computed on
 * the host: what every sector of the disk holds after blockcheck pass p, and the
 * CRC-32 the guest prints for that pass, so a test can check the guest's line and
 * the file without trusting the guest.
 *
 * The disk is 32-bit little-endian words; word w (0..127) of sector s in pass p is
 * s for w = 0, p for w = 1, else mix(s * 0x85EBCA77 + p * 0x9E3779B1 + w * 0xC2B2AE3D),
 * all mod 2^32.
 */
final class BlockPattern {
    static final int SECTOR = 512;
    private static final int WORDS = SECTOR / 4;

    private BlockPattern() {
    }

    private static int mix(int x) {
        x ^= x >>> 16;
        x *= 0x7FEB352D;
        x ^= x >>> 15;
        x *= 0x846CA68B;
        x ^= x >>> 16;
        return x;
    }

    /** Sector {@code sector} as blockcheck pass {@code pass} writes it. */
    static byte[] sector(long sector, int pass) {
        ByteBuffer bytes = ByteBuffer.allocate(SECTOR).order(ByteOrder.LITTLE_ENDIAN);
        int s = (int) sector;
        bytes.putInt(s).putInt(pass);
        for (int w = 2; w < WORDS; w++) {
            bytes.putInt(mix(s * 0x85EBCA77 + pass * 0x9E3779B1 + w * 0xC2B2AE3D));
        }
        return bytes.array();
    }

    /** The CRC-32 the guest prints for pass {@code pass} over a disk of {@code sectors} sectors. */
    static long crc(long sectors, int pass) {
        CRC32 crc = new CRC32();
        for (long s = 0; s < sectors; s++) {
            crc.update(sector(s, pass));
        }
        return crc.getValue();
    }

    /** The guest's line for a good pass: "# blockcheck pass K ok crc 0x%08x". */
    static String okLine(long sectors, int pass) {
        return String.format("# blockcheck pass %d ok crc 0x%08x", pass, crc(sectors, pass));
    }

    /** The first sector of {@code disk} that does not hold pass {@code pass}'s pattern, or -1. */
    static long firstBadSector(byte[] disk, int pass) {
        for (long s = 0; s < disk.length / SECTOR; s++) {
            byte[] want = sector(s, pass);
            if (!java.util.Arrays.equals(disk, (int) (s * SECTOR), (int) (s * SECTOR + SECTOR), want, 0, SECTOR)) {
                return s;
            }
        }
        return -1;
    }
}
