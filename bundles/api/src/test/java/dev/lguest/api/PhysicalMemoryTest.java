package dev.lguest.api;

import dev.lguest.api.memory.PhysicalMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CPU's bus: RAM 1:1 from 0, host pages above HOST_BASE, nothing in between. */
class PhysicalMemoryTest {
    @Test
    void ramAndHostPagesAreSeparate() {
        MemorySegment ram = Arena.ofAuto().allocate(16 * 4096);
        ram.set(ValueLayout.JAVA_BYTE, 5 * 4096 + 7, (byte) 42);
        try (PhysicalMemory bus = new PhysicalMemory(ram)) {
            assertEquals(16, bus.ramPages());
            assertEquals(42, bus.page(5).get(ValueLayout.JAVA_BYTE, 7));
            assertNull(bus.page(16), "nothing lies just above RAM");
            assertNull(bus.page(-1));

            int frame = bus.allocateHostPage();
            assertTrue(PhysicalMemory.isHostFrame(frame));
            assertEquals(PhysicalMemory.HOST_BASE >>> 12, Integer.toUnsignedLong(frame));
            bus.page(frame).set(ValueLayout.JAVA_INT, 0, 0x1234);
            assertEquals(1, bus.hostPagesInUse());

            bus.freeHostPage(frame);
            assertEquals(0, bus.hostPagesInUse());
            assertNull(bus.page(frame), "a freed page is gone from the bus");
            assertThrows(IllegalArgumentException.class, () -> bus.freeHostPage(frame));

            int again = bus.allocateHostPage();
            assertEquals(frame, again, "freed pages are reused");
            assertEquals(0, bus.page(again).get(ValueLayout.JAVA_INT, 0), "and come back zeroed");
            assertNotEquals(again, bus.allocateHostPage());
        }
    }
}
