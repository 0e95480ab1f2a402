// The remote protocol's framing: checksums, acknowledgements, the interrupt byte,
// escapes, and what a hostile peer sends (oversized and broken packets).
package dev.lguest.debugger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RemotePacketsTest {
    private final ByteArrayOutputStream sent = new ByteArrayOutputStream();

    private RemotePackets from(String wire) {
        return new RemotePackets(new ByteArrayInputStream(wire.getBytes(StandardCharsets.ISO_8859_1)), sent);
    }

    @Test
    void aPacketIsReadAndAcknowledged() throws IOException {
        RemotePackets p = from("+" + new String(RemotePackets.frame("qSupported:swbreak+"), StandardCharsets.ISO_8859_1));
        assertEquals("qSupported:swbreak+", p.read());
        assertEquals("+", sent.toString(StandardCharsets.ISO_8859_1));
        assertNull(p.read(), "end of stream");
    }

    @Test
    void aBadChecksumIsAnsweredMinusAndTheNextPacketRead() throws IOException {
        RemotePackets p = from("$g#00$g#67");
        assertEquals("g", p.read());
        assertEquals("-+", sent.toString(StandardCharsets.ISO_8859_1));
    }

    @Test
    void theInterruptByteComesThroughBetweenPackets() throws IOException {
        RemotePackets p = from("\u0003$?#3f");
        assertEquals(RemotePackets.INTERRUPT, p.read());
        assertEquals("?", p.read());
    }

    @Test
    void noAckModeSendsNothingBack() throws IOException {
        RemotePackets p = from("$g#67");
        p.stopAcknowledging();
        assertEquals("g", p.read());
        assertEquals(0, sent.size());
    }

    @Test
    void hostilePacketsAreMalformed() {
        assertThrows(RemotePackets.Malformed.class, () -> from("$" + "a".repeat(RemotePackets.MAX_PACKET + 1) + "#00").read());
        assertThrows(RemotePackets.Malformed.class, () -> from("$m0$#zz").read());
        assertThrows(RemotePackets.Malformed.class, () -> from("$g#zz").read());
    }

    @Test
    void aPacketCutShortIsTheEnd() throws IOException {
        assertNull(from("$m0,4").read());
    }

    @Test
    void repliesAreFramedWithTheirChecksumAndEscapes() {
        assertEquals("$OK#9a", new String(RemotePackets.frame("OK"), StandardCharsets.ISO_8859_1));
        // '}' '#' '$' '*' go as '}' and the byte XOR 0x20.
        assertEquals("$a}]}\u0003}\u0004}\n#", new String(RemotePackets.frame("a}#$*"), StandardCharsets.ISO_8859_1)
                .substring(0, 11));
    }

    @Test
    void binaryDataIsUnescaped() {
        assertArrayEquals(new byte[] {'}', '#', 1}, RemotePackets.unescape("X:}]}\u0003\u0001", 2));
        assertThrows(RemotePackets.Malformed.class, () -> RemotePackets.unescape("X:}", 2));
    }
}
