package dev.lguest.api.launcher;

/**
 * A device the Launcher offers its guests, described on the lguest device page:
 * {type, config_len, status, config fields...}. Devices are services, so a custom
 * build can leave one out or bring another; the Launcher lists every one bound.
 */
public interface LauncherDevice {
    /** The virtio device type (1 net, 2 block, 3 console). */
    int type();

    /** A short name for --verbose and listings. */
    String name();
}
