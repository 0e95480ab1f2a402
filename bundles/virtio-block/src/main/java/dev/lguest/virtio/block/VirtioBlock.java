package dev.lguest.virtio.block;

import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.BootSpec;
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
 * the disk's capacity, and the guest can never make it grow.
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
            return Optional.of(new BlockDevice(file, host));
        } catch (NoSuchFileException e) {
            throw new BootException("cannot open disk " + spec.block() + ": no such file");
        } catch (AccessDeniedException e) {
            throw new BootException("cannot open disk " + spec.block() + " for reading and writing: permission denied");
        } catch (IOException e) {
            throw new BootException("cannot open disk " + spec.block() + ": " + e.getMessage());
        }
    }
}
