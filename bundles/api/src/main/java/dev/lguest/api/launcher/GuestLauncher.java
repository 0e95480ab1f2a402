package dev.lguest.api.launcher;

import java.io.InputStream;
import java.io.OutputStream;

/**
 * The Launcher as a service: loads a kernel into fresh guest memory, lays out
 * boot_params, the initial page tables and the device page, opens /dev/lguest and runs
 * the guest on a thread of its own, serving its NOTIFYs. The guest's console goes to
 * {@code console}; its console input, if any, comes from {@code input}.
 */
public interface GuestLauncher {
    GuestSession boot(BootSpec spec, OutputStream console, InputStream input) throws BootException;

    /** A guest with no console input (tests, services). */
    default GuestSession boot(BootSpec spec, OutputStream console) throws BootException {
        return boot(spec, console, null);
    }
}
