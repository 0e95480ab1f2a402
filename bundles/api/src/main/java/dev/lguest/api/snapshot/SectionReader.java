package dev.lguest.api.snapshot;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Reads one section back in the order {@link SectionWriter} wrote it. The file was
 * checksummed, but a snapshot is still input from outside: every read checks that the
 * section holds it, and an array whose length is not the one the reader expects is
 * refused, each with a {@link SnapshotException} naming the section.
 */
public final class SectionReader {
    private final String section;
    private final ByteBuffer in;

    public SectionReader(String section, byte[] payload) {
        this.section = section;
        this.in = ByteBuffer.wrap(payload);
    }

    /** The section's name, for messages. */
    public String section() {
        return section;
    }

    public int readInt() throws SnapshotException {
        try {
            return in.getInt();
        } catch (BufferUnderflowException e) {
            throw new SnapshotException("section " + section + " ends early");
        }
    }

    public long readLong() throws SnapshotException {
        long high = Integer.toUnsignedLong(readInt());
        return (high << 32) | Integer.toUnsignedLong(readInt());
    }

    public boolean readBoolean() throws SnapshotException {
        int v = readInt();
        if (v != 0 && v != 1) {
            throw new SnapshotException("section " + section + " has " + v + " where a yes or no belongs");
        }
        return v == 1;
    }

    /** An int array that must have exactly {@code length} entries. */
    public int[] readInts(int length) throws SnapshotException {
        int n = readLength(length, length);
        int[] values = new int[n];
        for (int i = 0; i < n; i++) {
            values[i] = readInt();
        }
        return values;
    }

    /** A byte array of at most {@code max} bytes ({@code exactly} if not negative). */
    public byte[] readBytes(int exactly, int max) throws SnapshotException {
        int n = readLength(exactly < 0 ? 0 : exactly, exactly < 0 ? max : exactly);
        if (n > in.remaining()) {
            throw new SnapshotException("section " + section + " ends early");
        }
        byte[] values = new byte[n];
        in.get(values);
        return values;
    }

    public String readString(int maxBytes) throws SnapshotException {
        return new String(readBytes(-1, maxBytes), StandardCharsets.UTF_8);
    }

    private int readLength(int min, int max) throws SnapshotException {
        int n = readInt();
        if (n < min || n > max) {
            throw new SnapshotException(String.format("section %s has an array of %d where %s belong", section,
                    n, min == max ? Integer.toString(min) : min + " to " + max));
        }
        return n;
    }

    /** Everything written was read: a longer section is not the version it says. */
    public void expectEnd() throws SnapshotException {
        if (in.hasRemaining()) {
            throw new SnapshotException("section " + section + " has " + in.remaining() + " bytes too many");
        }
    }
}
