package dev.lguest.debugger;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The framing of GDB's remote serial protocol on a byte stream: a packet is
 * {@code $data#cc} with cc the sum of the data bytes modulo 256 in two hex digits,
 * acknowledged with '+' (or '-' to have it sent again) until no-ack mode is agreed; a
 * lone 0x03 between packets is gdb's interrupt (Ctrl-C). Inside binary data (X
 * packets, qXfer replies) '}' escapes the next byte, XORed with 0x20.
 *
 * Packets are strings of ISO-8859-1 characters, one per byte, so binary data survives.
 * Everything from gdb is untrusted: an oversized or unframed packet is a
 * {@link Malformed} (the connection is closed), a bad checksum is answered '-'.
 */
final class RemotePackets {
    /** The largest packet we take (and announce as PacketSize). */
    static final int MAX_PACKET = 0x4000;
    /** What {@link #read} returns for gdb's interrupt byte. */
    static final String INTERRUPT = "\u0003";

    private final InputStream in;
    private final OutputStream out;
    private boolean acknowledging = true;

    RemotePackets(InputStream in, OutputStream out) {
        this.in = in;
        this.out = out;
    }

    /** gdb asked for no-ack mode (QStartNoAckMode) and we agreed: no more '+'. */
    void stopAcknowledging() {
        acknowledging = false;
    }

    /**
     * The next packet's data (escapes still in it), {@link #INTERRUPT} for a 0x03, or
     * null at the end of the stream. Acknowledgements from gdb are skipped.
     */
    String read() throws IOException {
        while (true) {
            int b = in.read();
            if (b < 0) {
                return null;
            }
            if (b == 0x03) {
                return INTERRUPT;
            }
            if (b != '$') {
                // '+', '-' and noise between packets.
                continue;
            }
            StringBuilder data = new StringBuilder();
            int sum = 0;
            while ((b = in.read()) != '#') {
                if (b < 0) {
                    return null;
                }
                if (b == '$' || data.length() >= MAX_PACKET) {
                    throw new Malformed(b == '$' ? "a packet inside a packet" : "a packet longer than " + MAX_PACKET);
                }
                data.append((char) b);
                sum += b;
            }
            int high = Hex.digit(in.read());
            int low = Hex.digit(in.read());
            if (high < 0 || low < 0) {
                throw new Malformed("a checksum that is not hex");
            }
            if (((high << 4) | low) != (sum & 0xff)) {
                if (acknowledging) {
                    out.write('-');
                    out.flush();
                }
                continue;
            }
            if (acknowledging) {
                out.write('+');
                out.flush();
            }
            return data.toString();
        }
    }

    /** Sends one packet, escaping what must be escaped. Safe from several threads. */
    synchronized void write(String data) throws IOException {
        out.write(frame(data));
        out.flush();
    }

    /** {@code $data#cc}, with '$', '#', '}' and '*' escaped. */
    static byte[] frame(String data) {
        StringBuilder framed = new StringBuilder(data.length() + 4).append('$');
        int sum = 0;
        for (int i = 0; i < data.length(); i++) {
            char c = data.charAt(i);
            if (c == '$' || c == '#' || c == '}' || c == '*') {
                framed.append('}');
                sum += '}';
                c ^= 0x20;
            }
            framed.append(c);
            sum += c;
        }
        framed.append('#').append(Hex.byteHex(sum & 0xff));
        return framed.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Binary data with '}' escapes undone. */
    static byte[] unescape(String data, int from) {
        byte[] bytes = new byte[data.length() - from];
        int n = 0;
        for (int i = from; i < data.length(); i++) {
            char c = data.charAt(i);
            if (c == '}') {
                if (++i == data.length()) {
                    throw new Malformed("binary data ending in an escape");
                }
                c = (char) (data.charAt(i) ^ 0x20);
            }
            bytes[n++] = (byte) c;
        }
        return java.util.Arrays.copyOf(bytes, n);
    }

    /** A packet that breaks the framing: the connection it came on is closed. */
    static final class Malformed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Malformed(String what) {
            super(what, null, false, false);
        }
    }
}
