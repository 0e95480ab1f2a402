package dev.lguest.api;

import dev.lguest.api.snapshot.RamImage;
import dev.lguest.api.snapshot.SnapshotException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Guest memory in a snapshot: zero pages are left out, the rest comes back byte for byte. */
class RamImageTest {
    @Test
    void roundTripSkipsZeroPages() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(64 * RamImage.PAGE_SIZE);
            Random random = new Random(17);
            for (int pfn : new int[]{0, 3, 4, 63}) {
                for (int i = 0; i < RamImage.PAGE_SIZE; i += 7) {
                    ram.set(ValueLayout.JAVA_BYTE, (long) pfn * RamImage.PAGE_SIZE + i, (byte) random.nextInt());
                }
            }
            ram.set(ValueLayout.JAVA_BYTE, 10L * RamImage.PAGE_SIZE + 4095, (byte) 1); // one byte is enough
            RamImage.Encoded encoded = RamImage.encode(ram);
            assertEquals(5, encoded.pages());
            assertTrue(encoded.payload().length < 5 * RamImage.PAGE_SIZE);

            MemorySegment back = arena.allocate(ram.byteSize());
            assertEquals(5, RamImage.decode("ram", encoded.payload(), back));
            assertEquals(-1, ram.mismatch(back));
        }
    }

    @Test
    void refusesAnotherSizeAndDamagedData() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(8 * RamImage.PAGE_SIZE);
            ram.set(ValueLayout.JAVA_BYTE, 5, (byte) 9);
            byte[] payload = RamImage.encode(ram).payload();
            MemorySegment bigger = arena.allocate(16 * RamImage.PAGE_SIZE);
            assertEquals("section ram holds 32768 bytes of memory, the guest has 65536",
                    assertThrows(SnapshotException.class, () -> RamImage.decode("ram", payload, bigger)).getMessage());
            byte[] cut = Arrays.copyOf(payload, payload.length - 6);
            assertThrows(SnapshotException.class, () -> RamImage.decode("ram", cut, arena.allocate(ram.byteSize())));
            byte[] garbage = payload.clone();
            for (int i = 12; i < garbage.length; i++) {
                garbage[i] = (byte) 0xa5;
            }
            assertThrows(SnapshotException.class, () -> RamImage.decode("ram", garbage, arena.allocate(ram.byteSize())));
        }
    }
}
