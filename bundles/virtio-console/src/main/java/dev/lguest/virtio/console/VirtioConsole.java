package dev.lguest.virtio.console;

import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.ConsoleState;
import dev.lguest.api.launcher.DeviceHandover;
import dev.lguest.api.launcher.HandoverException;
import dev.lguest.api.launcher.DeviceHost;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.LauncherDevice;
import org.osgi.service.component.annotations.Component;

import java.util.Optional;

/**
 * The virtio console as a Launcher device: every guest gets one, as in lguest.c
 * ("We always have a console device"). Linux makes it hvc0. It also takes over a
 * running guest's console from another implementation (a swap of this bundle).
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

    @Override
    public GuestDevice adopt(DeviceHandover handover, DeviceHost host) throws HandoverException {
        if (handover.type() != TYPE || !(handover.state() instanceof ConsoleState state)) {
            throw new HandoverException("console: cannot take over a device of type " + handover.type()
                    + " with state " + (handover.state() == null ? "none" : handover.state().getClass().getSimpleName()));
        }
        if (handover.queues().size() != 2) {
            throw new HandoverException("console: the guest's console has " + handover.queues().size() + " queues, not 2");
        }
        return new ConsoleDevice(host, state);
    }
}
