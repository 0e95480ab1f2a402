package dev.lguest.api.snapshot;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.zip.CRC32;

/**
 * The snapshot file: a header, then one checksummed section per component, then an
 * end mark. Everything is big-endian.
 *
 * <pre>
 *   magic          8 bytes  0x89 'L' 'G' 'S' 'N' 'A' 'P' '\n'
 *   format         u32      {@link #FORMAT_VERSION}
 *   header         u32 length, then: build (u32 length + UTF-8), saved at (u64 ms since 1970)
 *   header crc     u32      CRC32 of the header bytes
 *   sections       each:    u8 1, name (u32 length + UTF-8), u32 section version,
 *                           u32 payload length, payload, u32 CRC32 of name, version and payload
 *   end            u8 0, u32 number of sections
 * </pre>
 *
 * The magic's first byte is not ASCII and its last is a newline, as in PNG, so a file
 * mangled as text fails at once. A reader knows from the header alone whether it can
 * read the file at all (the format version), and from each section's version whether
 * the component can. The end mark is what tells a complete file from a truncated one
 * cut exactly between two sections.
 */
public final class SnapshotFile {
    public static final byte[] MAGIC = {(byte) 0x89, 'L', 'G', 'S', 'N', 'A', 'P', '\n'};
    public static final int FORMAT_VERSION = 1;
    private static final int SECTION = 1;
    private static final int END = 0;
    private static final int MAX_NAME_BYTES = 256;
    private static final int MAX_BUILD_BYTES = 1024;

    private SnapshotFile() {
    }

    /** One component's section: its name, the version of its layout, and its bytes. */
    public record Section(String name, int version, byte[] payload) {
        public Section {
            if (name.isEmpty() || name.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
                throw new IllegalArgumentException("section name '" + name + "'");
            }
        }
    }

    /** A whole snapshot as read: what built it, when, and its sections in file order. */
    public record Contents(String build, long savedAtMillis, List<Section> sections) {
        public Contents {
            sections = List.copyOf(sections);
        }

        public Optional<Section> section(String name) {
            return sections.stream().filter(s -> s.name().equals(name)).findFirst();
        }
    }

    /**
     * Writes {@code contents} to {@code file}: to a file next to it first, moved into
     * place once complete, so a save that fails halfway never leaves a file that looks
     * like a snapshot. Returns the file's size.
     */
    public static long write(Path file, Contents contents) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path partial = Files.createTempFile(dir, file.getFileName().toString(), ".partial");
        try {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(partial), 1 << 16)) {
                write(out, contents);
            }
            Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(partial);
        }
        return Files.size(file);
    }

    /** Writes {@code contents} to a stream. */
    public static void write(OutputStream stream, Contents contents) throws IOException {
        DataOutputStream out = new DataOutputStream(stream);
        out.write(MAGIC);
        out.writeInt(FORMAT_VERSION);
        byte[] header = new SectionWriter().writeString(contents.build()).writeLong(contents.savedAtMillis())
                .toByteArray();
        out.writeInt(header.length);
        out.write(header);
        out.writeInt(crc(header));
        for (Section s : contents.sections()) {
            byte[] name = s.name().getBytes(StandardCharsets.UTF_8);
            out.writeByte(SECTION);
            out.writeInt(name.length);
            out.write(name);
            out.writeInt(s.version());
            out.writeInt(s.payload().length);
            out.write(s.payload());
            out.writeInt(sectionCrc(name, s.version(), s.payload()));
        }
        out.writeByte(END);
        out.writeInt(contents.sections().size());
        out.flush();
    }

    /** Reads a snapshot file; anything wrong with it is one line in the exception. */
    public static Contents read(Path file) throws SnapshotException {
        byte[] bytes;
        try {
            if (Files.size(file) > Integer.MAX_VALUE - 16) {
                throw new SnapshotException(file + " is too large to be a snapshot this build reads");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new SnapshotException("cannot open snapshot " + file + ": no such file");
        } catch (IOException | OutOfMemoryError e) {
            throw new SnapshotException("cannot read snapshot " + file + ": " + e.getMessage());
        }
        return parse(bytes);
    }

    /** Reads a snapshot from its bytes. */
    public static Contents parse(byte[] bytes) throws SnapshotException {
        ByteBuffer in = ByteBuffer.wrap(bytes);
        if (bytes.length < MAGIC.length || !java.util.Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new SnapshotException("not an lguest snapshot (no snapshot header)");
        }
        in.position(MAGIC.length);
        try {
            int format = in.getInt();
            if (format != FORMAT_VERSION) {
                throw new SnapshotException(String.format("snapshot format version %d; this build reads version %d",
                        Integer.toUnsignedLong(format), FORMAT_VERSION));
            }
            byte[] header = take(in, in.getInt(), "header");
            if (in.getInt() != crc(header)) {
                throw new SnapshotException("corrupt snapshot: the header fails its checksum");
            }
            SectionReader h = new SectionReader("header", header);
            String build = h.readString(MAX_BUILD_BYTES);
            long savedAt = h.readLong();
            h.expectEnd();
            List<Section> sections = new ArrayList<>();
            Set<String> names = new HashSet<>();
            while (true) {
                int kind = in.get();
                if (kind == END) {
                    break;
                }
                if (kind != SECTION) {
                    throw new SnapshotException("corrupt snapshot: bad mark after section " + sections.size());
                }
                int nameLength = in.getInt();
                if (nameLength <= 0 || nameLength > MAX_NAME_BYTES) {
                    throw new SnapshotException("corrupt snapshot: section " + sections.size()
                            + " has a name of " + Integer.toUnsignedLong(nameLength) + " bytes");
                }
                byte[] name = take(in, nameLength, "section name");
                String sectionName = new String(name, StandardCharsets.UTF_8);
                int version = in.getInt();
                byte[] payload = take(in, in.getInt(), "section " + sectionName);
                if (in.getInt() != sectionCrc(name, version, payload)) {
                    throw new SnapshotException("corrupt snapshot: section " + sectionName + " fails its checksum");
                }
                if (!names.add(sectionName)) {
                    throw new SnapshotException("corrupt snapshot: section " + sectionName + " appears twice");
                }
                sections.add(new Section(sectionName, version, payload));
            }
            if (in.getInt() != sections.size()) {
                throw new SnapshotException("corrupt snapshot: the end mark counts other sections than the file has");
            }
            if (in.hasRemaining()) {
                throw new SnapshotException("corrupt snapshot: " + in.remaining() + " bytes after its end");
            }
            return new Contents(build, savedAt, sections);
        } catch (BufferUnderflowException e) {
            throw new SnapshotException("truncated snapshot: the file ends after " + bytes.length + " bytes");
        }
    }

    private static byte[] take(ByteBuffer in, int length, String what) throws SnapshotException {
        if (length < 0 || length > in.remaining()) {
            // A length beyond the end is what a cut file looks like (or a corrupted length).
            throw new SnapshotException("truncated snapshot: " + what + " of " + Integer.toUnsignedLong(length)
                    + " bytes runs past the end of the file");
        }
        byte[] bytes = new byte[length];
        in.get(bytes);
        return bytes;
    }

    private static int crc(byte[] bytes) {
        CRC32 c = new CRC32();
        c.update(bytes);
        return (int) c.getValue();
    }

    private static int sectionCrc(byte[] name, int version, byte[] payload) {
        CRC32 c = new CRC32();
        c.update(name);
        c.update(ByteBuffer.allocate(4).putInt(version).array());
        c.update(payload);
        return (int) c.getValue();
    }
}
