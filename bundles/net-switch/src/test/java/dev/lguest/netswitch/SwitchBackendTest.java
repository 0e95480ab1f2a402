package dev.lguest.netswitch;

import dev.lguest.api.net.NetworkException;
import dev.lguest.api.net.NetworkLink;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The in-process switch: flooding, learning, segments kept apart, ports coming and going. */
class SwitchBackendTest {
    private static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};

    private final SwitchBackend backend = new SwitchBackend();

    private static byte[] mac(int n) {
        return new byte[] {2, 0, 0, 0, 0, (byte) n};
    }

    private static byte[] frame(byte[] to, byte[] from, int tag) {
        byte[] f = new byte[60];
        System.arraycopy(to, 0, f, 0, 6);
        System.arraycopy(from, 0, f, 6, 6);
        f[12] = 0x08;
        f[14] = (byte) tag;
        return f;
    }

    private record Guest(NetworkLink link, List<byte[]> got) {
    }

    private Guest plug(String name) throws NetworkException {
        List<byte[]> got = new ArrayList<>();
        return new Guest(backend.open(name, got::add), got);
    }

    @Test
    void aBroadcastReachesEveryOtherPortButNotTheSender() throws Exception {
        Guest a = plug("lan"), b = plug("lan"), c = plug("lan");
        byte[] f = frame(BROADCAST, mac(1), 1);
        a.link().send(f, f.length);
        assertTrue(a.got().isEmpty());
        assertArrayEquals(f, b.got().getFirst());
        assertArrayEquals(f, c.got().getFirst());
    }

    @Test
    void aLearnedAddressGetsItsFramesAloneAndAnUnknownOneIsFlooded() throws Exception {
        Guest a = plug("lan"), b = plug("lan"), c = plug("lan");
        byte[] unknown = frame(mac(2), mac(1), 1);
        a.link().send(unknown, unknown.length);
        assertEquals(1, b.got().size());
        assertEquals(1, c.got().size(), "b's address is not known yet: flooded");

        byte[] reply = frame(mac(1), mac(2), 2);
        b.link().send(reply, reply.length);
        assertEquals(1, a.got().size());
        assertEquals(1, c.got().size(), "a's address was learned: c does not see the reply");

        byte[] again = frame(mac(2), mac(1), 3);
        a.link().send(again, again.length);
        assertEquals(2, b.got().size());
        assertEquals(1, c.got().size(), "b's address is learned now");
    }

    @Test
    void switchesOfDifferentNamesAreSeparateSegments() throws Exception {
        Guest a = plug("one"), b = plug("two");
        byte[] f = frame(BROADCAST, mac(1), 1);
        a.link().send(f, f.length);
        assertTrue(b.got().isEmpty());
    }

    @Test
    void aPortThatLeftGetsNothingAndTheLastOneToLeaveRemovesTheSwitch() throws Exception {
        Guest a = plug("lan"), b = plug("lan");
        b.link().close();
        byte[] f = frame(BROADCAST, mac(1), 1);
        a.link().send(f, f.length);
        assertTrue(b.got().isEmpty());
        a.link().close();
        assertFalse(backend.switches().containsKey("lan"));
        Guest c = plug("lan"), d = plug("lan");
        c.link().send(f, f.length);
        assertEquals(1, d.got().size(), "a new switch of the same name works");
    }

    @Test
    void aRuntFrameIsDroppedAndCounted() throws Exception {
        Guest a = plug("lan"), b = plug("lan");
        a.link().send(new byte[10], 10);
        assertTrue(b.got().isEmpty());
        assertEquals(1, a.link().dropped());
    }

    @Test
    void aBadNameIsOneLine() {
        NetworkException e = assertThrows(NetworkException.class, () -> backend.open("a b", f -> {
        }));
        assertTrue(e.getMessage().startsWith("--net=switch:a b: "), e.getMessage());
    }
}
