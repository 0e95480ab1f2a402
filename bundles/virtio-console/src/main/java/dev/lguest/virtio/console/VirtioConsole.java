package dev.lguest.virtio.console;

import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.DeviceHost;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.LauncherDevice;
import org.osgi.service.component.annotations.Component;

import java.util.Optional;

/**
 * The virtio console as a Launcher device: every guest gets one, as in lguest.c
 * ("We always have a console device"). Linux makes it hvc0.
 */
@Component(service = LauncherDevice.class)
public final class VirtioConsole implements LauncherDevice {
    /** VIRTIO_ID_CONSOLE. */
    static final int TYPE = 3;

    @Override
    public int type() {
        return TYPE;
    }

    @Override
    public String name() {
        return "console";
    }

    @Override
    public Optional<GuestDevice> attach(BootSpec spec, DeviceHost host) {
        return Optional.of(new ConsoleDevice(host));
    }
}
