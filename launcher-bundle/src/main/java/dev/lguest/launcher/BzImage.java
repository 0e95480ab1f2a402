package dev.lguest.launcher;

import dev.lguest.api.launcher.BootException;
import dev.lguest.api.memory.GuestMemory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * A bzImage, loaded the way lguest.c's load_bzimage() does. A bzImage is not meant
 * to be loaded but jumped into: a 16-bit real-mode setup part, then the protected-mode
 * kernel that unpacks itself. lguest skips the setup part entirely: the setup header
 * (Documentation/i386/boot.txt) says how many 512-byte sectors it takes after the boot
 * sector, and the rest of the file goes at 1 MiB and starts at code32_start.
 *
 * The header must carry the magic "HdrS" and boot protocol 2.07 or later: 2.07 is the
 * version that has hardware_subarch, without which the kernel would never find out it
 * is an lguest guest. A zImage (not LOADED_HIGH) would want to live at 64 KiB, below
 * boot_params' neighbours, and is refused.
 */
final class BzImage {
    static final int SETUP_SECTS = 0x1f1;
    static final int HEADER_MAGIC = 0x202;
    static final int PROTOCOL_VERSION = 0x206;
    static final int LOADFLAGS = 0x211;
    static final int CODE32_START = 0x214;
    static final int SECTOR = 512;
    static final int LOADED_HIGH = 0x01;
    static final int MINIMUM_PROTOCOL = 0x207;
    static final long LOAD_ADDRESS = 0x100000;
    /** A setup_sects of 0 means 4, for the oldest kernels. */
    static final int DEFAULT_SETUP_SECTS = 4;

    private BzImage() {
    }

    static boolean looksLikeBzImage(byte[] image) {
        return image.length >= HEADER_MAGIC + 4 && image[HEADER_MAGIC] == 'H' && image[HEADER_MAGIC + 1] == 'd'
                && image[HEADER_MAGIC + 2] == 'r' && image[HEADER_MAGIC + 3] == 'S';
    }

    /** Loads the protected-mode kernel at 1 MiB, below {@code limit}. */
    static LoadedKernel load(byte[] image, GuestMemory memory, long limit, String name) throws BootException {
        if (!looksLikeBzImage(image) || image.length < CODE32_START + 4) {
            throw new BootException(name + " is not a bzImage (no \"HdrS\" setup header)");
        }
        ByteBuffer header = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        int protocol = header.getShort(PROTOCOL_VERSION) & 0xffff;
        if (protocol < MINIMUM_PROTOCOL) {
            throw new BootException(String.format("%s uses boot protocol %d.%02d; lguest needs 2.07 or later",
                    name, protocol >> 8, protocol & 0xff));
        }
        if ((image[LOADFLAGS] & LOADED_HIGH) == 0) {
            throw new BootException(name + " is a zImage, not a bzImage (it does not load at 1 MiB)");
        }
        int setupSectors = image[SETUP_SECTS] & 0xff;
        if (setupSectors == 0) {
            setupSectors = DEFAULT_SETUP_SECTS;
        }
        long kernelOffset = (long) (setupSectors + 1) * SECTOR;
        if (kernelOffset >= image.length) {
            throw new BootException(name + " ends inside its setup sectors");
        }
        long kernelBytes = image.length - kernelOffset;
        if (LOAD_ADDRESS + kernelBytes > limit) {
            throw new BootException(String.format("%s does not fit in guest memory "
                    + "(the kernel ends at %#x, memory ends at %#x)", name, LOAD_ADDRESS + kernelBytes, limit));
        }
        memory.write(LOAD_ADDRESS, image, (int) kernelOffset, (int) kernelBytes);
        int entry = header.getInt(CODE32_START);
        return new LoadedKernel(entry, LOAD_ADDRESS + kernelBytes, List.of(String.format(
                "bzImage: boot protocol %d.%02d, %d setup sectors, %d bytes at %#x, entry %#x",
                protocol >> 8, protocol & 0xff, setupSectors, kernelBytes, LOAD_ADDRESS, entry)));
    }
}
