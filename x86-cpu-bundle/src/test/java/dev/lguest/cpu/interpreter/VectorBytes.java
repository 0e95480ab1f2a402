package dev.lguest.cpu.interpreter;

import java.util.Arrays;

/**
 * Reading a recorded vector file: the native generators (gen.c, x87gen.c) write
 * little-endian fields one after another, and both replaying tests walk them with
 * the same cursor.
 */
abstract class VectorBytes {
    protected final byte[] bytes;
    protected int at;

    VectorBytes(byte[] bytes) {
        this.bytes = bytes;
    }

    protected int u8() {
        return bytes[at++] & 0xff;
    }

    protected int u16() {
        return u8() | (u8() << 8);
    }

    protected int u32() {
        return u16() | (u16() << 16);
    }

    protected byte[] take(int length) {
        byte[] b = Arrays.copyOfRange(bytes, at, at + length);
        at += length;
        return b;
    }
}
