package dev.lguest.launcher;

import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;

import java.nio.charset.StandardCharsets;

/**
 * The guest's memory as the Launcher lays it out, following the 2.6.24 boot protocol:
 *
 *   0                boot_params (the "zero page"), the command line at 0x1000
 *   1 MiB            the kernel
 *   ...
 *   pgdir, ptes      the initial page tables, just below the initrd
 *   initrd           at the top of RAM, its size rounded up to a page
 *   mem              the device descriptor page, then the device pages
 *
 * The initial page tables map every page of RAM 1:1: the guest starts with paging
 * on, and Linux's lguest_entry copies the first directory entries up to 0xC0000000.
 */
final class GuestLayout {
    /** Pages above RAM for the device descriptors and the devices (lguest's DEVICE_PAGES). */
    static final int DEVICE_PAGES = 256;
    static final int COMMAND_LINE = 0x1000;
    static final int COMMAND_LINE_MAX = 256;

    // boot_params offsets.
    static final int E820_ENTRIES = 0x1e8;
    static final int E820_MAP = 0x2d0;
    static final int TYPE_OF_LOADER = 0x210;
    static final int LOADFLAGS = 0x211;
    static final int RAMDISK_IMAGE = 0x218;
    static final int RAMDISK_SIZE = 0x21c;
    static final int CMD_LINE_PTR = 0x228;
    static final int VERSION = 0x206;
    static final int HARDWARE_SUBARCH = 0x23c;
    static final int KEEP_SEGMENTS = 0x40;
    static final int E820_RAM = 1;
    static final int SUBARCH_LGUEST = 1;
    /** Present, writable, user: what the 2.6.24 Launcher puts in its initial tables. */
    static final int PAGE_PRESENT = 0x7;

    final long memoryBytes;

    GuestLayout(long memoryBytes) {
        this.memoryBytes = memoryBytes;
    }

    /** Guest memory plus the device pages: what the guest may reach (pfnlimit). */
    long totalBytes() {
        return memoryBytes + (long) DEVICE_PAGES * PhysicalMemory.PAGE_SIZE;
    }

    /** Where an initrd of {@code size} bytes goes: the top of RAM less its page-rounded size. */
    long initrdBase(long size) {
        return memoryBytes - ((size + PhysicalMemory.PAGE_SIZE - 1) & -PhysicalMemory.PAGE_SIZE);
    }

    long deviceDescriptorPage() {
        return memoryBytes;
    }

    /** How many bytes the initial page tables take for this much RAM. */
    long pageTableBytes() {
        long pages = memoryBytes / PhysicalMemory.PAGE_SIZE;
        long pteBytes = (pages * 4 + PhysicalMemory.PAGE_SIZE - 1) & -PhysicalMemory.PAGE_SIZE;
        return pteBytes + PhysicalMemory.PAGE_SIZE;
    }

    /**
     * Writes the page directory and linear page tables ending at {@code top} and
     * returns the directory's guest-physical address.
     */
    int writePageTables(GuestMemory memory, long top) {
        long pages = memoryBytes / PhysicalMemory.PAGE_SIZE;
        long pteBytes = (pages * 4 + PhysicalMemory.PAGE_SIZE - 1) & -PhysicalMemory.PAGE_SIZE;
        long linear = top - pteBytes;
        long pgdir = linear - PhysicalMemory.PAGE_SIZE;
        memory.fill(pgdir, PhysicalMemory.PAGE_SIZE + pteBytes, (byte) 0);
        for (long page = 0; page < pages; page++) {
            memory.write32(linear + page * 4, (int) (page * PhysicalMemory.PAGE_SIZE) | PAGE_PRESENT);
        }
        for (long table = 0; table * PhysicalMemory.PAGE_SIZE < pteBytes; table++) {
            memory.write32(pgdir + table * 4, (int) (linear + table * PhysicalMemory.PAGE_SIZE) | PAGE_PRESENT);
        }
        return (int) pgdir;
    }

    /** boot_params at 0: the e820 map, the protocol version, lguest's subarch, the command line. */
    void writeBootParams(GuestMemory memory, String commandLine, long ramdiskImage, long ramdiskSize) {
        memory.fill(0, PhysicalMemory.PAGE_SIZE, (byte) 0);
        memory.write8(E820_ENTRIES, 1);
        memory.write64(E820_MAP, 0);
        memory.write64(E820_MAP + 8, memoryBytes);
        memory.write32(E820_MAP + 16, E820_RAM);
        memory.write16(VERSION, 0x207);
        memory.write32(HARDWARE_SUBARCH, SUBARCH_LGUEST);
        memory.write8(LOADFLAGS, KEEP_SEGMENTS);
        if (ramdiskSize > 0) {
            memory.write32(RAMDISK_IMAGE, (int) ramdiskImage);
            memory.write32(RAMDISK_SIZE, (int) ramdiskSize);
            memory.write8(TYPE_OF_LOADER, 0xff);
        }
        byte[] line = commandLine.getBytes(StandardCharsets.ISO_8859_1);
        int length = Math.min(line.length, COMMAND_LINE_MAX - 1);
        memory.fill(COMMAND_LINE, COMMAND_LINE_MAX, (byte) 0);
        memory.write(COMMAND_LINE, line, 0, length);
        memory.write32(CMD_LINE_PTR, COMMAND_LINE);
    }
}
