package dev.lguest.launcher;

import dev.lguest.api.launcher.BootException;
import dev.lguest.api.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** bzImage loading against small synthetic images with a real setup header. */
class BzImageTest {
    private static final long LIMIT = 4 << 20;
    private final GuestMemory memory = new GuestMemory(Arena.ofAuto().allocate(LIMIT));

    /** A bzImage: a boot sector and {@code setupSectors} of setup, then {@code kernel}. */
    static byte[] bzImage(int setupSectors, int protocol, int loadflags, int code32Start, byte[] kernel) {
        int setup = ((setupSectors == 0 ? 4 : setupSectors) + 1) * 512;
        ByteBuffer b = ByteBuffer.allocate(setup + kernel.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0x1f1, (byte) setupSectors);
        b.put(0x202, (byte) 'H').put(0x203, (byte) 'd').put(0x204, (byte) 'r').put(0x205, (byte) 'S');
        b.putShort(0x206, (short) protocol);
        b.put(0x211, (byte) loadflags);
        b.putInt(0x214, code32Start);
        // syssize: the kernel's length in 16-byte units, rounded up, as the kernel's build tool writes it.
        b.putInt(0x1f4, (kernel.length + 15) / 16);
        b.put(setup, kernel);
        return b.array();
    }

    @Test
    void skipsTheSetupSectorsAndLoadsAtOneMegabyte() throws BootException {
        byte[] image = bzImage(3, 0x207, 1, 0x100000, new byte[] {(byte) 0xfc, (byte) 0xf4, 7, 8});
        LoadedKernel k = LoadedKernel.load(image, memory, LIMIT, "bz");
        assertEquals(0x100000, k.entry());
        assertEquals(0x100004, k.end());
        assertEquals(0x0807f4fc, memory.read32(0x100000));
        assertEquals("bzImage: boot protocol 2.07, 3 setup sectors, 4 bytes at 0x100000, entry 0x100000",
                k.description().get(0));
    }

    @Test
    void zeroSetupSectorsMeansFour() throws BootException {
        LoadedKernel k = BzImage.load(bzImage(0, 0x20a, 1, 0x100000, new byte[] {42}), memory, LIMIT, "bz");
        assertEquals(42, memory.read8(0x100000));
        assertEquals(0x100001, k.end());
    }

    @Test
    void refusesOldProtocolsZImagesAndMisfits() {
        assertEquals("bz uses boot protocol 2.06; lguest needs 2.07 or later", assertThrows(BootException.class,
                () -> BzImage.load(bzImage(1, 0x206, 1, 0x100000, new byte[4]), memory, LIMIT, "bz")).getMessage());
        assertEquals("bz is a zImage, not a bzImage (it does not load at 1 MiB)", assertThrows(BootException.class,
                () -> BzImage.load(bzImage(1, 0x207, 0, 0x100000, new byte[4]), memory, LIMIT, "bz")).getMessage());
        assertEquals("bz does not fit in guest memory (the kernel ends at 0x400001, memory ends at 0x400000)",
                assertThrows(BootException.class, () -> BzImage.load(
                        bzImage(1, 0x207, 1, 0x100000, new byte[0x300001]), memory, LIMIT, "bz")).getMessage());
        byte[] cut = java.util.Arrays.copyOf(bzImage(8, 0x207, 1, 0x100000, new byte[4]), 1024);
        assertEquals("bz ends inside its setup sectors (1024 bytes; the header says the kernel starts at byte 4608)",
                assertThrows(BootException.class, () -> BzImage.load(cut, memory, LIMIT, "bz")).getMessage());
    }

    @Test
    void neitherElfNorBzImage() {
        assertEquals("k is neither an i386 ELF vmlinux nor a bzImage", assertThrows(BootException.class,
                () -> LoadedKernel.load(new byte[4096], memory, LIMIT, "k")).getMessage());
        assertEquals("k is neither an i386 ELF vmlinux nor a bzImage", assertThrows(BootException.class,
                () -> LoadedKernel.load("#!/bin/sh\n".getBytes(), memory, LIMIT, "k")).getMessage());
    }
}
