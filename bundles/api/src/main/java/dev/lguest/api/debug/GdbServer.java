package dev.lguest.api.debug;

import dev.lguest.api.guest.Guest;

import java.io.IOException;

/**
 * GDB's remote serial protocol for guests: a stub listening on the loopback address,
 * one port per guest, that `gdb vmlinux` with `target remote :PORT` debugs.
 */
public interface GdbServer {
    /**
     * Listens on 127.0.0.1:{@code port} (0: any free port) for gdb to debug
     * {@code guest}; with {@code stop} the guest stops at its next boundary and waits
     * for gdb. Returns the port listened on.
     */
    int attach(Guest guest, int port, boolean stop) throws IOException;

    /**
     * The same for the next guest the switcher sets up (the Launcher's --gdb): the port
     * is opened now, and with {@code stopBeforeFirstInstruction} that guest waits for
     * gdb before it runs anything.
     */
    int attachToNextGuest(int port, boolean stopBeforeFirstInstruction) throws IOException;

    /** The port a guest's stub listens on, or -1 if it has none. */
    int portOf(Guest guest);
}
