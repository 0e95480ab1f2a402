package dev.lguest.api.launcher;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * A virtio block device's state at a hand-over: its disk, still open, and the
 * configuration the guest read at boot, which the successor must present unchanged
 * (the guest will not read it again).
 *
 * The open channel itself is handed over rather than the path reopened: the file may
 * have been renamed or replaced since boot, and reopening could fail halfway through a
 * swap. From the hand-over on the channel belongs to the successor, which closes it.
 *
 * @param path            the --block file, for messages
 * @param file            the open disk, read and written in place
 * @param capacitySectors the capacity the guest was told, in 512-byte sectors
 * @param hostFeatures    the feature bits the device offered (VIRTIO_BLK_F_*)
 * @param segmentMax      the most data buffers in one request the guest was told
 * @param readOnly        the file is open for reading only: the guest's writes fail
 */
public record BlockState(Path path, FileChannel file, long capacitySectors, int hostFeatures, int segmentMax,
                         boolean readOnly) implements DeviceState {
    /** A disk open for reading and writing. */
    public BlockState(Path path, FileChannel file, long capacitySectors, int hostFeatures, int segmentMax) {
        this(path, file, capacitySectors, hostFeatures, segmentMax, false);
    }

    /** Closes the disk: no device will take it. */
    @Override
    public void release() {
        try {
            file.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing " + path, e);
        }
    }
}
