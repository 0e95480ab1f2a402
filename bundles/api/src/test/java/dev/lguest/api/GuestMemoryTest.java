package dev.lguest.api;

import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.GuestMemoryFault;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Guest memory is checked on every access, overflow included, and little-endian. */
class GuestMemoryTest {
    private final GuestMemory memory = new GuestMemory(Arena.ofAuto().allocate(8192));

    @Test
    void littleEndianAccess() {
        memory.write32(100, 0x11223344);
        assertEquals(0x44, memory.read8(100));
        assertEquals(0x3344, memory.read16(100));
        assertEquals(0x11223344, memory.read32(100));
        memory.write64(200, 0x0102030405060708L);
        assertEquals(0x05060708, memory.read32(200));
    }

    @Test
    void accessesOutsideFaultWithTheAddress() {
        assertEquals(8190, assertThrows(GuestMemoryFault.class, () -> memory.read32(8190)).address());
        assertThrows(GuestMemoryFault.class, () -> memory.write8(-1, 0));
        assertThrows(GuestMemoryFault.class, () -> memory.read(8000, new byte[200], 0, 200));
    }

    @Test
    void containsChecksForOverflow() {
        assertTrue(memory.contains(0, 8192));
        assertFalse(memory.contains(1, 8192));
        assertFalse(memory.contains(8192, 1));
        assertFalse(memory.contains(1, Long.MAX_VALUE));
        assertFalse(memory.contains(Long.MAX_VALUE, 2));
        assertFalse(memory.contains(5, -1));
    }

    @Test
    void cStringsStopAtNulAtMaxOrAtTheEnd() {
        memory.write(10, "hello\0world".getBytes());
        assertEquals("hello", memory.readCString(10, 100));
        assertEquals("hel", memory.readCString(10, 3));
        memory.write(8188, "abcd".getBytes());
        assertEquals("abcd", memory.readCString(8188, 100));
        assertThrows(GuestMemoryFault.class, () -> memory.readCString(8192, 4));
    }
}
