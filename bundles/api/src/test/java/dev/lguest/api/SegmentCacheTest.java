package dev.lguest.api;

import dev.lguest.api.cpu.SegmentCache;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Descriptor decoding, as the CPU loads a descriptor into a segment register. */
class SegmentCacheTest {
    @Test
    void flatRingOneCode() {
        // Base 0, limit 0xfffff with 4 KiB granularity, present, DPL 1, code read/exec, 32-bit.
        SegmentCache c = SegmentCache.fromDescriptor(0x61, 0x0000ffff, 0x00cfbb00);
        assertEquals(0, c.base());
        assertEquals(0xffffffff, c.limit());
        assertEquals(1, c.dpl());
        assertEquals(1, c.rpl());
        assertTrue(c.present());
        assertTrue(c.isCode());
        assertTrue(c.big());
    }

    @Test
    void baseAndByteGranularLimit() {
        // Base 0x12345678, limit 0x00fff (bytes), present, DPL 3, data read/write.
        SegmentCache c = SegmentCache.fromDescriptor(0x7b, 0x56780fff, 0x1240f334);
        assertEquals(0x12345678, c.base());
        assertEquals(0xfff, c.limit());
        assertEquals(3, c.dpl());
        assertFalse(c.isCode());
        assertTrue(c.isCodeOrData());
        assertEquals(3, c.type());
    }
}
