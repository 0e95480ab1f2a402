package dev.lguest.api.snapshot;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.Inflater;

/**
 * Guest memory as a snapshot section: the size, how many pages are not all zero, and
 * those pages, each after its page number, through Deflater. Most of a freshly booted
 * guest's memory is zero and is not written at all; a restore starts from zeroed
 * memory. Decoding checks the size against the memory it fills, that page numbers
 * rise and stay inside it, and that the stream holds exactly the pages it announced.
 *
 * Taking the pages ({@link #copy}) and compressing them ({@link #encode(Copy)}) are
 * two steps, so that a guest stands still only for the copy: compression, many times
 * slower, runs after the guest has been let go.
 */
public final class RamImage {
    public static final int PAGE_SIZE = 4096;
    private static final MemorySegment ZERO_PAGE = MemorySegment.ofArray(new byte[PAGE_SIZE]);

    private RamImage() {
    }

    /** What {@link #encode} made: the section's bytes and how many pages went in. */
    public record Encoded(byte[] payload, int pages) {
    }

    /** The pages of memory that are not all zero, copied: {@code pages[i]} is page {@code pfns[i]}. */
    public record Copy(long size, int[] pfns, byte[][] pages) {
    }

    /** Copies the pages of {@code ram} (a whole number of pages) that are not all zero. */
    public static Copy copy(MemorySegment ram) {
        long size = ram.byteSize();
        int[] pfns = new int[(int) (size / PAGE_SIZE)];
        byte[][] pages = new byte[pfns.length][];
        int n = 0;
        for (long offset = 0; offset + PAGE_SIZE <= size; offset += PAGE_SIZE) {
            if (MemorySegment.mismatch(ram, offset, offset + PAGE_SIZE, ZERO_PAGE, 0, PAGE_SIZE) < 0) {
                continue;
            }
            byte[] page = new byte[PAGE_SIZE];
            MemorySegment.copy(ram, ValueLayout.JAVA_BYTE, offset, page, 0, PAGE_SIZE);
            pfns[n] = (int) (offset / PAGE_SIZE);
            pages[n++] = page;
        }
        return new Copy(size, java.util.Arrays.copyOf(pfns, n), java.util.Arrays.copyOf(pages, n));
    }

    /** The section for {@code ram} (a whole number of pages). */
    public static Encoded encode(MemorySegment ram) {
        return encode(copy(ram));
    }

    /** The section for the pages {@link #copy} took. */
    public static Encoded encode(Copy copy) {
        long size = copy.size();
        ByteArrayOutputStream compressed = new ByteArrayOutputStream(1 << 16);
        Deflater deflater = new Deflater(Deflater.BEST_SPEED);
        int pages = copy.pfns().length;
        try (DataOutputStream out = new DataOutputStream(new DeflaterOutputStream(compressed, deflater, 1 << 16))) {
            for (int i = 0; i < pages; i++) {
                out.writeInt(copy.pfns()[i]);
                out.write(copy.pages()[i]);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array never fails
        } finally {
            deflater.end();
        }
        byte[] body = compressed.toByteArray();
        byte[] payload = ByteBuffer.allocate(12 + body.length).putLong(size).putInt(pages).put(body).array();
        return new Encoded(payload, pages);
    }

    /** Fills {@code ram} (zeroed) from a section {@link #encode} wrote; returns the pages read. */
    public static int decode(String section, byte[] payload, MemorySegment ram) throws SnapshotException {
        if (payload.length < 12) {
            throw new SnapshotException("section " + section + " ends early");
        }
        ByteBuffer head = ByteBuffer.wrap(payload);
        long size = head.getLong();
        int pages = head.getInt();
        if (size != ram.byteSize()) {
            throw new SnapshotException(String.format("section %s holds %d bytes of memory, the guest has %d",
                    section, size, ram.byteSize()));
        }
        long limit = size / PAGE_SIZE;
        if (pages < 0 || pages > limit) {
            throw new SnapshotException("section " + section + " announces " + pages + " pages in " + limit);
        }
        Inflater inflater = new Inflater();
        try {
            inflater.setInput(payload, 12, payload.length - 12);
            byte[] record = new byte[4 + PAGE_SIZE];
            long previous = -1;
            for (int i = 0; i < pages; i++) {
                inflateFully(inflater, record, section);
                long pfn = Integer.toUnsignedLong(ByteBuffer.wrap(record).getInt());
                if (pfn <= previous || pfn >= limit) {
                    throw new SnapshotException("section " + section + " has page " + pfn + " out of order or place");
                }
                MemorySegment.copy(record, 4, ram, ValueLayout.JAVA_BYTE, pfn * PAGE_SIZE, PAGE_SIZE);
                previous = pfn;
            }
            if (inflater.inflate(new byte[1]) != 0 || !inflater.finished()) {
                throw new SnapshotException("section " + section + " holds more than the pages it announces");
            }
            return pages;
        } catch (DataFormatException e) {
            throw new SnapshotException("section " + section + " is not valid compressed data");
        } finally {
            inflater.end();
        }
    }

    private static void inflateFully(Inflater inflater, byte[] into, String section)
            throws DataFormatException, SnapshotException {
        int done = 0;
        while (done < into.length) {
            int n = inflater.inflate(into, done, into.length - done);
            if (n == 0 && (inflater.finished() || inflater.needsInput() || inflater.needsDictionary())) {
                throw new SnapshotException("section " + section + " ends before its last page");
            }
            done += n;
        }
    }
}
