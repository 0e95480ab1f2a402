package dev.lguest.virtio.block;

import dev.lguest.api.launcher.BlockState;
import dev.lguest.api.launcher.ConfigField;
import dev.lguest.api.launcher.DescriptorChain;
import dev.lguest.api.launcher.DeviceHost;
import dev.lguest.api.launcher.DeviceState;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.Virtqueue;
import dev.lguest.api.launcher.VirtqueueFault;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.file.Path;
import java.util.List;

/**
 * One guest's virtio disk: one request queue, and the config 2.6.24's virtio_blk.c
 * reads: the feature bits (0x40), the capacity in sectors (0x41) and the most data
 * buffers in one request (0x43).
 *
 * Requests are served at once, on the Launcher's thread, while the guest waits: a
 * write is in the file (the host's page cache) before the guest sees it complete, so
 * killing the Launcher loses nothing the guest was told is written. To survive the
 * host itself going down, the data must also reach the disk: 2.6.24 asks for that
 * with a barrier (VIRTIO_BLK_T_BARRIER on a request, offered only when the device
 * advertises VIRTIO_BLK_F_BARRIER), later kernels with a FLUSH request. Either one
 * forces the file to disk (FileChannel.force), a barrier both before and after its
 * own write, so that everything completed before it, and it, is durable.
 *
 * A request outside the disk, or one we cannot make sense of, gets an error status;
 * only a chain with no room even for the status kills the guest.
 *
 * A disk file we may only read (VirtioBlock opens it so when it may not write it) is
 * still the guest's disk: its reads work and every write gets VIRTIO_BLK_S_IOERR, which
 * 2.6.24's virtio_blk turns into an I/O error for the writer. 2.6.24 has no read-only
 * feature bit to tell the guest beforehand. (lguest.c opened the file O_RDWR and
 * would not start at all; a write that failed got IOERR there too.)
 *
 * When the host fails a request (a write into a file system that is full, an I/O
 * error of the host's disk), the guest gets VIRTIO_BLK_S_IOERR for it, as lguest.c
 * gave for a failed writev, and the Launcher runs on; the user is told once, in one
 * line, why the guest sees I/O errors. What the host did write before it failed stays
 * written, as it would on a real disk. A disk file deleted while the guest runs is
 * still ours: the Launcher holds it open, so the guest reads and writes it as before,
 * and the host frees it when the guest ends (lguest.c kept its descriptor the same way).
 *
 * Hand-over (the bundle swapped while the guest runs): the open file and the
 * configuration the guest read go to the successor as a {@link BlockState}. Every
 * request is complete when a notification returns, so nothing is in flight.
 */
final class BlockDevice implements GuestDevice {
    static final int SECTOR_BYTES = 512;
    static final int QUEUE_ENTRIES = 128;
    private static final long IO_CHUNK = 1 << 20;

    // Config field types (VIRTIO_CONFIG_BLK_F*).
    static final int FIELD_FEATURES = 0x40;
    static final int FIELD_CAPACITY = 0x41;
    static final int FIELD_SEG_MAX = 0x43;
    /**
     * The feature field: the host's bits in the first half, the guest's acknowledgements
     * in the second. 2.6.24's virtio_use_bit() only looks at bit n if n*8 < len/2, so
     * bit 1 needs a field of at least 18 bytes; 32 keeps both halves whole words.
     */
    static final int FEATURES_BYTES = 32;
    static final int F_BARRIER = 1;

    // Request types (VIRTIO_BLK_T_*).
    static final int T_IN = 0;
    static final int T_OUT = 1;
    static final int T_SCSI_CMD = 2;
    static final int T_FLUSH = 4;
    static final int T_BARRIER = 0x80000000;

    // Status (VIRTIO_BLK_S_*).
    static final int S_OK = 0;
    static final int S_IOERR = 1;
    static final int S_UNSUPP = 2;

    private final Path path;
    private final FileChannel file;
    private final DeviceHost host;
    private final long capacitySectors;
    private final boolean readOnly;
    private Virtqueue queue;
    /** The file went to a successor: it is not ours to close. */
    private boolean retired;
    /** The user has been told that the host fails this disk's requests. */
    private boolean hostFailureTold;

    BlockDevice(Path path, FileChannel file, DeviceHost host, boolean readOnly) throws IOException {
        this(path, file, host, file.size() / SECTOR_BYTES, readOnly);
    }

    /** A device over an open disk whose capacity the guest was already told (a hand-over). */
    BlockDevice(Path path, FileChannel file, DeviceHost host, long capacitySectors, boolean readOnly) {
        this.path = path;
        this.file = file;
        this.host = host;
        this.capacitySectors = capacitySectors;
        this.readOnly = readOnly;
    }

    boolean readOnly() {
        return readOnly;
    }

    /** The feature bits offered in the first byte of the feature field. */
    static int hostFeatures() {
        return 1 << F_BARRIER;
    }

    long capacitySectors() {
        return capacitySectors;
    }

    @Override
    public int queueCount() {
        return 1;
    }

    @Override
    public List<ConfigField> configFields() {
        byte[] features = new byte[FEATURES_BYTES];
        features[0] = (byte) hostFeatures();
        // Two buffers of every request are the header and the status.
        return List.of(new ConfigField(FIELD_FEATURES, features),
                ConfigField.u64(FIELD_CAPACITY, capacitySectors),
                ConfigField.u32(FIELD_SEG_MAX, QUEUE_ENTRIES - 2));
    }

    @Override
    public String describe() {
        return "virtblock " + capacitySectors + " sectors" + (readOnly ? ", read-only" : "");
    }

    @Override
    public void connect(List<Virtqueue> queues) {
        queue = queues.get(0);
    }

    @Override
    public void notified(int index) {
        boolean any = false;
        for (DescriptorChain chain = queue.next(); chain != null; chain = queue.next()) {
            queue.used(chain, serve(chain));
            any = true;
        }
        if (any) {
            queue.interrupt();
        }
    }

    /** Serves one request and writes its status; returns the bytes written into the chain. */
    int serve(DescriptorChain chain) {
        BlockRequest request = BlockRequest.parse(chain);
        if (request == null) {
            throw new VirtqueueFault("block: request " + chain.head() + " has no writable byte for its status");
        }
        int status;
        long read = 0;
        try {
            if (!request.headerOk()) {
                status = S_IOERR;
            } else {
                boolean barrier = (request.type() & T_BARRIER) != 0;
                int type = request.type() & ~T_BARRIER;
                if (barrier && !readOnly) {
                    file.force(false);
                }
                switch (type) {
                    case T_IN -> {
                        status = transfer(request, request.writableData(), false);
                        read = status == S_OK ? BlockRequest.length(request.writableData()) : 0;
                    }
                    case T_OUT -> status = transfer(request, request.readableData(), true);
                    case T_FLUSH -> {
                        if (!readOnly) {
                            file.force(false);
                        }
                        status = S_OK;
                    }
                    // SCSI commands (eject, say) and anything newer: not here.
                    default -> status = S_UNSUPP;
                }
                if (barrier && status == S_OK && !readOnly) {
                    file.force(false);
                }
            }
        } catch (IOException | UncheckedIOException | NonWritableChannelException | NonReadableChannelException e) {
            // The host said no (a full disk, an I/O error, a channel that cannot do it):
            // the guest's request failed, nothing more.
            status = S_IOERR;
            read = 0;
            hostFailed(request, e);
        }
        request.segment(request.status()).set(ValueLayout.JAVA_BYTE, 0, (byte) status);
        return (int) Math.min(Integer.MAX_VALUE, read + 1);
    }

    private void hostFailed(BlockRequest request, Exception e) {
        String why = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        host.verbose(String.format("request type %#x at sector %s failed on the host: %s", request.type(),
                Long.toUnsignedString(request.sector()), why));
        if (!hostFailureTold) {
            hostFailureTold = true;
            host.warn("disk " + path + ": " + why + "; the guest gets an I/O error for each request the host fails");
        }
    }

    /** Moves data between the guest's regions and the file at the request's sector. */
    private int transfer(BlockRequest request, List<BlockRequest.Region> data, boolean write) throws IOException {
        long length = BlockRequest.length(data);
        long sector = request.sector();
        // Unsigned sector numbers beyond the disk, and offsets that would overflow, are out of range.
        if (sector < 0 || sector > capacitySectors || length > (capacitySectors - sector) * SECTOR_BYTES) {
            host.verbose(String.format("%s beyond the disk: sector %s, %d bytes", write ? "WRITE" : "READ",
                    Long.toUnsignedString(sector), length));
            return S_IOERR;
        }
        if (write && readOnly) {
            host.verbose(String.format("WRITE to sector %d: the disk is read-only", sector));
            return S_IOERR;
        }
        long position = sector * SECTOR_BYTES;
        for (BlockRequest.Region region : data) {
            MemorySegment memory = request.segment(region);
            // In pieces: a ByteBuffer cannot span more than 2 GiB.
            for (long done = 0; done < region.length(); ) {
                ByteBuffer buffer = memory.asSlice(done, Math.min(IO_CHUNK, region.length() - done)).asByteBuffer();
                while (buffer.hasRemaining()) {
                    int n = write ? file.write(buffer, position) : file.read(buffer, position);
                    if (n < 0) {
                        // The file shrank under us: the rest of the disk is gone.
                        return S_IOERR;
                    }
                    position += n;
                    done += n;
                }
            }
        }
        host.verbose(String.format("%s sector %d: %d", write ? "WRITE to" : "READ from", sector, length));
        return S_OK;
    }

    @Override
    public DeviceState suspend() {
        return new BlockState(path, file, capacitySectors, hostFeatures(), QUEUE_ENTRIES - 2, readOnly);
    }

    @Override
    public void retire() {
        retired = true;
    }

    @Override
    public void close() {
        if (retired) {
            return;
        }
        try {
            if (!readOnly) {
                file.force(false);
            }
        } catch (IOException e) {
            // Nothing to tell a guest that is gone.
        }
        try {
            file.close();
        } catch (IOException e) {
            // As above.
        }
    }
}
