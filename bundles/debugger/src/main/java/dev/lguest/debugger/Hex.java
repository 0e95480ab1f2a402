package dev.lguest.debugger;

/** Hex as the remote protocol writes it: lower-case digits, values little-endian byte by byte. */
final class Hex {
    private static final char[] DIGITS = "0123456789abcdef".toCharArray();

    private Hex() {
    }

    /** The value of a hex digit, or -1. */
    static int digit(int c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    static String byteHex(int b) {
        return new String(new char[] {DIGITS[(b >>> 4) & 0xf], DIGITS[b & 0xf]});
    }

    static String bytes(byte[] data, int offset, int length) {
        StringBuilder s = new StringBuilder(2 * length);
        for (int i = offset; i < offset + length; i++) {
            s.append(DIGITS[(data[i] >>> 4) & 0xf]).append(DIGITS[data[i] & 0xf]);
        }
        return s.toString();
    }

    /** A value of {@code size} bytes in target (little-endian) order. */
    static String littleEndian(long value, int size) {
        StringBuilder s = new StringBuilder(2 * size);
        for (int i = 0; i < size; i++) {
            s.append(byteHex((int) (value >>> (8 * i)) & 0xff));
        }
        return s.toString();
    }

    /** Pairs of hex digits as bytes; a bad digit or an odd count is a BadRequest. */
    static byte[] parseBytes(String hex) {
        if ((hex.length() & 1) != 0) {
            throw new BadRequest("odd hex length");
        }
        byte[] b = new byte[hex.length() / 2];
        for (int i = 0; i < b.length; i++) {
            int high = digit(hex.charAt(2 * i));
            int low = digit(hex.charAt(2 * i + 1));
            if (high < 0 || low < 0) {
                throw new BadRequest("not hex");
            }
            b[i] = (byte) ((high << 4) | low);
        }
        return b;
    }

    /** A number written in hex (an address, a length, a register number): at most 8 digits. */
    static int parseInt(String hex) {
        if (hex.isEmpty() || hex.length() > 8) {
            throw new BadRequest("bad number");
        }
        long v = 0;
        for (int i = 0; i < hex.length(); i++) {
            int d = digit(hex.charAt(i));
            if (d < 0) {
                throw new BadRequest("not hex");
            }
            v = (v << 4) | d;
        }
        return (int) v;
    }

    /** A request gdb may send but that makes no sense: answered with an error reply. */
    static final class BadRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadRequest(String what) {
            super(what, null, false, false);
        }
    }
}
