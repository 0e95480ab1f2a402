package dev.lguest.launcher;

import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.ConfigField;
import dev.lguest.api.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The device page byte by byte, as 2.6.24's lguest_device.c reads it. */
class DevicePageTest {
    private static final long MEM = 4 << 20;
    private final GuestLayout layout = new GuestLayout(MEM);
    private final GuestMemory memory = new GuestMemory(Arena.ofAuto().allocate(layout.totalBytes()));
    private final DevicePage page = new DevicePage(memory, layout);

    @Test
    void consoleThenBlock() throws BootException {
        List<DevicePage.QueuePlacement> console = page.add("console", 3, 2, List.of());
        List<DevicePage.QueuePlacement> block = page.add("block", 2, 1,
                List.of(ConfigField.u64(0x41, 2048), ConfigField.u32(0x43, 126)));

        // Rings: two pages each, right above the descriptor page; irqs from 1.
        assertEquals(List.of(new DevicePage.QueuePlacement(MEM + 0x1000, 1),
                new DevicePage.QueuePlacement(MEM + 0x3000, 2)), console);
        assertEquals(List.of(new DevicePage.QueuePlacement(MEM + 0x5000, 3)), block);

        long d = MEM;
        // The console: type 3, 20 bytes of config, status 0, two virtqueue fields.
        assertEquals(3, memory.read8(d));
        assertEquals(20, memory.read8(d + 1));
        assertEquals(0, memory.read8(d + 2));
        assertEquals(2, memory.read8(d + 3));
        assertEquals(8, memory.read8(d + 4));
        assertEquals(128, memory.read16(d + 5));
        assertEquals(1, memory.read16(d + 7));
        assertEquals((MEM >> 12) + 1, memory.read32(d + 9));
        assertEquals(2, memory.read8(d + 13));
        assertEquals(8, memory.read8(d + 14));
        assertEquals(128, memory.read16(d + 15));
        assertEquals(2, memory.read16(d + 17));
        assertEquals((MEM >> 12) + 3, memory.read32(d + 19));

        // The disk at 23: type 2, 10 + 10 + 6 bytes of config.
        d += 23;
        assertEquals(2, memory.read8(d));
        assertEquals(26, memory.read8(d + 1));
        assertEquals(0, memory.read8(d + 2));
        assertEquals(2, memory.read8(d + 3));
        assertEquals(8, memory.read8(d + 4));
        assertEquals(128, memory.read16(d + 5));
        assertEquals(3, memory.read16(d + 7));
        assertEquals((MEM >> 12) + 5, memory.read32(d + 9));
        assertEquals(0x41, memory.read8(d + 13));
        assertEquals(8, memory.read8(d + 14));
        assertEquals(2048, memory.read64(d + 15));
        assertEquals(0x43, memory.read8(d + 23));
        assertEquals(4, memory.read8(d + 24));
        assertEquals(126, memory.read32(d + 25));
        // And a zero type ends the list.
        assertEquals(0, memory.read8(d + 29));
        assertEquals(MEM + 23 + 29, page.descriptorEnd());
    }

    @Test
    void anEmptyPageEndsAtOnce() {
        assertEquals(0, memory.read8(MEM));
    }

    @Test
    void runsOutOfInterrupts() throws BootException {
        // 31 queues fit (irqs 1..31; 0 is the clock), 256 device pages would hold 127 rings.
        page.add("many", 9, 20, List.of());
        for (int i = 0; i < 11; i++) {
            page.add("d" + i, 9, 1, List.of());
        }
        assertEquals("too many virtqueues for the guest's 32 interrupts",
                assertThrows(BootException.class, () -> page.add("one more", 9, 1, List.of())).getMessage());
    }

    @Test
    void refusesTooMuchConfiguration() {
        List<ConfigField> big = List.of(new ConfigField(0x50, new byte[200]), new ConfigField(0x51, new byte[60]));
        assertEquals("device big has more configuration than a descriptor holds",
                assertThrows(BootException.class, () -> page.add("big", 9, 0, big)).getMessage());
    }
}
