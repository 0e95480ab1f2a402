package dev.lguest.api;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.SegmentRegister;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CPU state is a value: a copy is equal and independent. */
class CpuStateTest {
    @Test
    void copiesAreEqualAndIndependent() {
        CpuState s = new CpuState();
        s.gpr[3] = 0x1234;
        s.setSegment(SegmentRegister.CS, new SegmentCache(0x61, 0, -1, 0xc0bb));
        s.setHostVector(0x1f, true);
        s.fpu[0] = 0x7f;
        CpuState c = s.copy();
        assertEquals(s, c);
        assertEquals(1, c.cpl());
        assertTrue(c.isHostVector(0x1f));
        assertFalse(c.isHostVector(0x80));

        c.gpr[3] = 0;
        c.fpu[0] = 0;
        c.setHostVector(0x1f, false);
        assertEquals(0x1234, s.gpr[3]);
        assertEquals(0x7f, s.fpu[0]);
        assertTrue(s.isHostVector(0x1f));
        assertNotEquals(s, c);
    }
}
