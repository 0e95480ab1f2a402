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
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * The virtio block device as a Launcher device: a guest gets one when booted with
 * --block=FILE, backed by that file, read and written in place (lguest.c's
 * setup_block_file()). The file must exist; its size, in whole 512-byte sectors, is
 * the disk's capacity, and the guest can never make it grow. It also takes over a
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
        try {
            FileChannel file = FileChannel.open(spec.block(), StandardOpenOption.READ, StandardOpenOption.WRITE);
            return Optional.of(new BlockDevice(spec.block(), file, host));
        } catch (NoSuchFileException e) {
            throw new BootException("cannot open disk " + spec.block() + ": no such file");
        } catch (AccessDeniedException e) {
            throw new BootException("cannot open disk " + spec.block() + " for reading and writing: permission denied");
        } catch (IOException e) {
            throw new BootException("cannot open disk " + spec.block() + ": " + e.getMessage());
        }
    }

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
        return new BlockDevice(state.path(), state.file(), host, state.capacitySectors());
    }
}
