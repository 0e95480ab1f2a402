package dev.lguest.api.snapshot;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Where a component writes its section: a few typed writes, big-endian, read back in
 * the same order by {@link SectionReader}. Arrays carry their length, so a reader can
 * check it against what it expects before it believes anything else in the section.
 */
public final class SectionWriter {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final DataOutputStream out = new DataOutputStream(bytes);

    public SectionWriter writeInt(int value) {
        try {
            out.writeInt(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array never fails
        }
        return this;
    }

    public SectionWriter writeLong(long value) {
        writeInt((int) (value >>> 32));
        return writeInt((int) value);
    }

    public SectionWriter writeBoolean(boolean value) {
        return writeInt(value ? 1 : 0);
    }

    public SectionWriter writeInts(int[] values) {
        writeInt(values.length);
        for (int v : values) {
            writeInt(v);
        }
        return this;
    }

    public SectionWriter writeBytes(byte[] values) {
        writeInt(values.length);
        bytes.write(values, 0, values.length);
        return this;
    }

    public SectionWriter writeString(String value) {
        return writeBytes(value.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Everything written so far. */
    public byte[] toByteArray() {
        return bytes.toByteArray();
    }
}
