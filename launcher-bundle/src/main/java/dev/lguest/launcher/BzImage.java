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
 *
 * lguest.c trusted the rest of the header; a corrupt setup_sects or a file cut short
 * then put the wrong bytes at 1 MiB, and the guest died on its first instructions with
 * a trap nobody could explain. Here the header is checked against the file first:
 * syssize (the protected-mode kernel's size in 16-byte units, which the kernel's
 * build tool writes, rounding up) must agree with what follows the setup sectors to
 * within a sector, and code32_start must lie inside the kernel. Either failing is one
 * line saying which, before any guest exists.
 */
final class BzImage {
    static final int SETUP_SECTS = 0x1f1;
    static final int SYSSIZE = 0x1f4;
    static final int SYSSIZE_UNIT = 16;
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
            throw new BootException(String.format("%s ends inside its setup sectors (%d bytes; the header says "
                    + "the kernel starts at byte %d)", name, image.length, kernelOffset));
        }
        long kernelBytes = image.length - kernelOffset;
        long declared = Integer.toUnsignedLong(header.getInt(SYSSIZE)) * SYSSIZE_UNIT;
        if (kernelBytes <= declared - SYSSIZE_UNIT) {
            throw new BootException(String.format("%s is truncated: its header says %d bytes of kernel after %d "
                    + "setup sectors, the file has %d", name, declared, setupSectors, kernelBytes));
        }
        if (kernelBytes >= declared + SECTOR) {
            throw new BootException(String.format("%s has a corrupt setup header: %d setup sectors leave %d bytes "
                    + "of kernel, its syssize says %d", name, setupSectors, kernelBytes, declared));
        }
        if (LOAD_ADDRESS + kernelBytes > limit) {
            throw new BootException(String.format("%s does not fit in guest memory "
                    + "(the kernel ends at %#x, memory ends at %#x)", name, LOAD_ADDRESS + kernelBytes, limit));
        }
        int entry = header.getInt(CODE32_START);
        if (Integer.toUnsignedLong(entry) < LOAD_ADDRESS || Integer.toUnsignedLong(entry) >= LOAD_ADDRESS + kernelBytes) {
            throw new BootException(String.format("%s has a corrupt setup header: code32_start %#x is outside its "
                    + "kernel (%#x-%#x)", name, entry, LOAD_ADDRESS, LOAD_ADDRESS + kernelBytes));
        }
        memory.write(LOAD_ADDRESS, image, (int) kernelOffset, (int) kernelBytes);
        return new LoadedKernel(entry, LOAD_ADDRESS + kernelBytes, List.of(String.format(
                "bzImage: boot protocol %d.%02d, %d setup sectors, %d bytes at %#x, entry %#x",
                protocol >> 8, protocol & 0xff, setupSectors, kernelBytes, LOAD_ADDRESS, entry)));
    }
}
