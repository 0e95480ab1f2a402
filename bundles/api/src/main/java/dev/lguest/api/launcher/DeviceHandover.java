package dev.lguest.api.launcher;

import java.util.List;

/**
 * One running guest's device, as it passes from one implementation to the next:
 * made by the Launcher on its own thread, between two notifications, from the old
 * device's {@link GuestDevice#suspend()} and its own rings, and given to
 * {@link LauncherDevice#adopt}.
 *
 * @param type   the virtio device type
 * @param name   the device's name in the guest's listing ("console", "block")
 * @param queues where the Launcher stands in each of the device's queues, in order
 * @param config the configuration fields the guest read at boot; the successor must present exactly these
 * @param state  the old device's own state
 */
public record DeviceHandover(int type, String name, List<QueuePosition> queues, List<ConfigField> config,
                             DeviceState state) {
    public DeviceHandover {
        queues = List.copyOf(queues);
        config = List.copyOf(config);
    }
}
