package dev.lguest.api;

import dev.lguest.api.hypercalls.Hypercall;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The hypercall numbers are the 2.6.24 ABI's; 11 to 13 do not exist. */
class HypercallTableTest {
    @Test
    void numbersMatchTheAbi() {
        assertEquals(Hypercall.LGUEST_INIT, Hypercall.of(1));
        assertEquals(Hypercall.HALT, Hypercall.of(10));
        assertEquals(Hypercall.SET_PTE, Hypercall.of(14));
        assertEquals(Hypercall.NOTIFY, Hypercall.of(17));
        for (int n : new int[] {11, 12, 13, 18, -1, 255}) {
            assertNull(Hypercall.of(n), "no hypercall " + n);
        }
        assertEquals(15, Hypercall.values().length);
    }
}
