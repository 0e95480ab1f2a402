package dev.lguest.virtio.block;

import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.BlockState;
import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.DeviceHandover;
import dev.lguest.api.launcher.HandoverException;
import dev.lguest.api.launcher.DeviceHost;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.LauncherDevice;
import org.osgi.service.component.annotations.Component;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * The virtio block device as a Launcher device: a guest gets one when booted with
 * --block=FILE, backed by that file, read and written in place (lguest.c's
 * setup_block_file()). The file must exist; its size, in whole 512-byte sectors, is
 * the disk's capacity, and the guest can never make it grow. A file we may only read
 * is a disk whose writes fail (lguest.c refused to start with it). It also takes over a
 * running guest's disk from another implementation (a swap of this bundle), still
 * open, with the capacity the guest was told.
 */
@Component(service = LauncherDevice.class)
public final class VirtioBlock implements LauncherDevice {
    /** VIRTIO_ID_BLOCK. */
    static final int TYPE = 2;

    @Override
    public int type() {
        return TYPE;
    }

    @Override
    public String name() {
        return "block";
    }

    @Override
    public Optional<GuestDevice> attach(BootSpec spec, DeviceHost host) throws BootException {
        if (spec.block() == null) {
            return Optional.empty();
        }
        return Optional.of(open(spec.block(), host, FileChannel::open));
    }

    /** How a disk file is opened (FileChannel.open; tests refuse writing as a host would). */
    interface Opener {
        FileChannel open(Path path, OpenOption... options) throws IOException;
    }

    /**
     * Opens the disk for reading and writing, or, when the host will not let us write
     * it (its permissions, an immutable file, a read-only file system), for reading
     * only: the guest then gets an error for each write, and the user one line now.
     */
    static BlockDevice open(Path path, DeviceHost host, Opener opener) throws BootException {
        try {
            return new BlockDevice(path, opener.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE), host,
                    false);
        } catch (NoSuchFileException e) {
            throw new BootException("cannot open disk " + path + ": no such file");
        } catch (FileSystemException e) {
            if (!writingRefused(e)) {
                throw new BootException("cannot open disk " + path + ": " + e.getMessage());
            }
            // Not writable; perhaps readable.
        } catch (IOException e) {
            throw new BootException("cannot open disk " + path + ": " + e.getMessage());
        }
        BlockDevice device;
        try {
            device = new BlockDevice(path, opener.open(path, StandardOpenOption.READ), host, true);
        } catch (AccessDeniedException e) {
            throw new BootException("cannot open disk " + path + ": permission denied");
        } catch (IOException e) {
            throw new BootException("cannot open disk " + path + ": " + e.getMessage());
        }
        host.warn("disk " + path + " can only be read: the guest's writes to it will fail");
        return device;
    }

    /**
     * The host refuses writing, not the file itself: EACCES (its permissions), EPERM (an
     * immutable file, even for root) or EROFS (a read-only file system). A directory or
     * anything else that is not a disk stays an error.
     */
    static boolean writingRefused(FileSystemException e) {
        return e instanceof AccessDeniedException || READ_ONLY_REASONS.contains(e.getReason());
    }

    /** strerror(EPERM) and strerror(EROFS), as Java's FileSystemException gives them. */
    private static final java.util.Set<String> READ_ONLY_REASONS =
            java.util.Set.of("Operation not permitted", "Read-only file system");

    @Override
    public GuestDevice adopt(DeviceHandover handover, DeviceHost host) throws HandoverException {
        if (handover.type() != TYPE || !(handover.state() instanceof BlockState state)) {
            throw new HandoverException("block: cannot take over a device of type " + handover.type()
                    + " with state " + (handover.state() == null ? "none" : handover.state().getClass().getSimpleName()));
        }
        if (state.file() == null || !state.file().isOpen()) {
            throw new HandoverException("block: the disk " + state.path() + " is not open any more");
        }
        if ((state.hostFeatures() & ~BlockDevice.hostFeatures()) != 0) {
            throw new HandoverException(String.format("block: the guest was offered features %#x, this device has %#x",
                    state.hostFeatures(), BlockDevice.hostFeatures()));
        }
        if (state.segmentMax() != BlockDevice.QUEUE_ENTRIES - 2 || handover.queues().size() != 1) {
            throw new HandoverException("block: the guest's disk has a queue layout this device does not");
        }
        return new BlockDevice(state.path(), state.file(), host, state.capacitySectors(), state.readOnly());
    }
}
