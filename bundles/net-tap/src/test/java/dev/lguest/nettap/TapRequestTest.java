package dev.lguest.nettap;

import dev.lguest.api.net.NetworkException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --tunnet's argument, as lguest takes it: an IPv4 address (here with an optional prefix) or bridge:NAME. */
class TapRequestTest {
    @Test
    void anAddress() throws Exception {
        TapSetup.Request r = TapSetup.Request.parse("10.0.0.1");
        assertEquals(0x0a000001, r.address());
        assertEquals(-1, r.prefixLength());
        assertNull(r.bridge());
        assertEquals("10.0.0.1", r.describeAddress());
    }

    @Test
    void anAddressWithAPrefix() throws Exception {
        TapSetup.Request r = TapSetup.Request.parse("192.168.7.254/24");
        assertEquals(0xc0a807fe, r.address());
        assertEquals(24, r.prefixLength());
    }

    @Test
    void aBridge() throws Exception {
        assertEquals("br0", TapSetup.Request.parse("bridge:br0").bridge());
    }

    @Test
    void nonsenseIsOneLine() {
        for (String bad : new String[] {"10.0.0", "10.0.0.256", "a.b.c.d", "10.0.0.1/33", "10.0.0.1/x", "bridge:",
                "bridge:a name", "bridge:a-name-much-too-long"}) {
            NetworkException e = assertThrows(NetworkException.class, () -> TapSetup.Request.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("--tunnet=" + bad + ": "), e.getMessage());
        }
    }
}
