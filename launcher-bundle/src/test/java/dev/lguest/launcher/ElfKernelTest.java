package dev.lguest.launcher;

import dev.lguest.api.launcher.BootException;
import dev.lguest.api.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ElfKernelTest {
    private final GuestMemory memory = new GuestMemory(Arena.ofAuto().allocate(4 << 20));

    /** A minimal i386 ELF executable with one PT_LOAD segment. */
    static byte[] elf(int machine, int physical, byte[] payload, int memorySize) {
        ByteBuffer b = ByteBuffer.allocate(52 + 32 + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 1, 1, 1});
        b.position(16);
        b.putShort((short) 2).putShort((short) machine).putInt(1).putInt(physical).putInt(52).putInt(0).putInt(0);
        b.putShort((short) 52).putShort((short) 32).putShort((short) 1);
        b.putShort((short) 0).putShort((short) 0).putShort((short) 0);
        // The program header: PT_LOAD, file offset 84, vaddr high, paddr as given.
        b.putInt(1).putInt(84).putInt(0xc0000000 + physical).putInt(physical)
                .putInt(payload.length).putInt(memorySize).putInt(7).putInt(0x1000);
        b.put(payload);
        return b.array();
    }

    @Test
    void loadsAtThePhysicalAddressAndZeroesTheRest() throws BootException {
        memory.fill(0x100000, 16, (byte) 0x55);
        LoadedKernel k = ElfKernel.load(elf(3, 0x100000, new byte[] {1, 2, 3, 4}, 16), memory, 4 << 20, "k");
        assertEquals(0x100000, k.entry());
        assertEquals(0x100010, k.end());
        assertEquals(0x04030201, memory.read32(0x100000));
        assertEquals(0, memory.read32(0x100004));
        assertEquals(0, memory.read32(0x10000c));
    }

    @Test
    void refusesWhatIsNotAnI386Elf() {
        assertEquals("k is not an ELF file", assertThrows(BootException.class,
                () -> ElfKernel.load("#!/bin/sh\n".getBytes(), memory, 4 << 20, "k")).getMessage());
        assertEquals("k is not a 32-bit little-endian i386 ELF", assertThrows(BootException.class,
                () -> ElfKernel.load(elf(62, 0x100000, new byte[4], 4), memory, 4 << 20, "k")).getMessage());
    }

    @Test
    void refusesAKernelThatDoesNotFit() {
        BootException e = assertThrows(BootException.class,
                () -> ElfKernel.load(elf(3, 0x3ff000, new byte[4], 0x2000), memory, 4 << 20, "k"));
        assertEquals("k does not fit in guest memory (a segment ends at 0x401000, memory ends at 0x400000)",
                e.getMessage());
    }

    @Test
    void refusesATruncatedFile() {
        byte[] image = elf(3, 0x100000, new byte[64], 64);
        byte[] cut = java.util.Arrays.copyOf(image, image.length - 10);
        assertEquals("k is truncated: segment 0 (file bytes 0x54-0x94) ends beyond the file's 138 bytes",
                assertThrows(BootException.class, () -> ElfKernel.load(cut, memory, 4 << 20, "k")).getMessage());
    }
}
