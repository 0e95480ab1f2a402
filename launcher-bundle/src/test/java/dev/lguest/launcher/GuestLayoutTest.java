package dev.lguest.launcher;

import dev.lguest.api.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** boot_params and the initial page tables, byte by byte against the 2.6.24 ABI sheet. */
class GuestLayoutTest {
    private static final long MEM = 8 << 20;
    private final GuestLayout layout = new GuestLayout(MEM);
    private final GuestMemory memory = new GuestMemory(Arena.ofAuto().allocate(layout.totalBytes()));

    @Test
    void bootParams() {
        layout.writeBootParams(memory, "console=hvc0 spin=5", 0x7f0000, 0x1234);
        assertEquals(1, memory.read8(0x1e8));
        assertEquals(0, memory.read64(0x2d0));
        assertEquals(MEM, memory.read64(0x2d8));
        assertEquals(1, memory.read32(0x2e0));
        assertEquals(0x207, memory.read16(0x206));
        assertEquals(1, memory.read32(0x23c));
        assertEquals(0x40, memory.read8(0x211) & 0x40);
        assertEquals(0x1000, memory.read32(0x228));
        assertEquals("console=hvc0 spin=5", memory.readCString(0x1000, 256));
        assertEquals(0x7f0000, memory.read32(0x218));
        assertEquals(0x1234, memory.read32(0x21c));
        assertEquals(0xff, memory.read8(0x210));
    }

    @Test
    void pageTablesMapEveryPageOneToOne() {
        long top = MEM;
        int pgdir = layout.writePageTables(memory, top);
        // 2048 pages need 8 KiB of ptes, and the directory sits below them.
        assertEquals(top - 0x2000 - 0x1000, pgdir);
        long linear = pgdir + 0x1000;
        assertEquals((int) linear | 7, memory.read32(pgdir));
        assertEquals((int) (linear + 0x1000) | 7, memory.read32(pgdir + 4));
        assertEquals(0, memory.read32(pgdir + 8));
        assertEquals(7, memory.read32(linear));
        assertEquals(0x1000 | 7, memory.read32(linear + 4));
        assertEquals((int) (MEM - 0x1000) | 7, memory.read32(linear + 2047 * 4));
        assertEquals(layout.pageTableBytes(), top - pgdir);
    }

    @Test
    void initrdAtTheTopOfRamWithItsPagesRoundedUp() {
        long size = 0x12345;
        long base = layout.initrdBase(size);
        assertEquals(MEM - 0x13000, base);
        layout.writeBootParams(memory, "", base, size);
        // ramdisk_image, ramdisk_size and type_of_loader, byte by byte.
        assertEquals(0x00, memory.read8(0x218));
        assertEquals(0xd0, memory.read8(0x219));
        assertEquals(0x7e, memory.read8(0x21a));
        assertEquals(0x00, memory.read8(0x21b));
        assertEquals(0x45, memory.read8(0x21c));
        assertEquals(0x23, memory.read8(0x21d));
        assertEquals(0x01, memory.read8(0x21e));
        assertEquals(0x00, memory.read8(0x21f));
        assertEquals(0xff, memory.read8(0x210));
    }

    @Test
    void noInitrdLeavesItsFieldsZero() {
        layout.writeBootParams(memory, "", layout.initrdBase(0), 0);
        assertEquals(MEM, layout.initrdBase(0));
        assertEquals(0, memory.read32(0x218));
        assertEquals(0, memory.read32(0x21c));
        assertEquals(0, memory.read8(0x210));
    }

    @Test
    void devicePagesLieAboveRam() {
        assertEquals(MEM, layout.deviceDescriptorPage());
        assertEquals(MEM + 256 * 4096, layout.totalBytes());
    }
}
