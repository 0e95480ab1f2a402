package dev.lguest.launcher;

import dev.lguest.api.device.LguestFile;
import dev.lguest.api.device.LguestRequest;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.launcher.DeviceHost;

import java.io.InputStream;
import java.io.PrintStream;

/**
 * What the Launcher offers one guest's devices. Its wakeGuest() is lguest.c's Waker:
 * a write of LHREQ_BREAK 1, which pops the guest's thread out of its read with
 * EAGAIN and then blocks until that thread has served the input and written
 * LHREQ_BREAK 0. /dev/lguest allows BREAK from any thread, which is the point: the
 * thread with the input is not the one that runs the guest.
 */
final class LauncherDeviceHost implements DeviceHost {
    private final PrintStream console;
    private final InputStream input;
    private final boolean verbose;
    private volatile LguestFile file;

    LauncherDeviceHost(PrintStream console, InputStream input, boolean verbose) {
        this.console = console;
        this.input = input;
        this.verbose = verbose;
    }

    /** The guest's /dev/lguest, once it is open. */
    void attach(LguestFile f) {
        file = f;
    }

    @Override
    public PrintStream console() {
        return console;
    }

    @Override
    public InputStream input() {
        return input;
    }

    @Override
    public void wakeGuest() {
        LguestFile f = file;
        Guest g = f == null ? null : f.guest();
        // Before INITIALIZE there is nothing to break; the input waits until the guest
        // kicks its input queue. On the guest's own thread a BREAK would wait for itself.
        if (g == null || Thread.currentThread() == g.owner) {
            return;
        }
        f.write(RunningGuest.words(LguestRequest.BREAK, 1));
    }

    @Override
    public void stopGuest(String reason) {
        LguestFile f = file;
        Guest g = f == null ? null : f.guest();
        if (g != null) {
            g.kill(reason);
        }
    }

    @Override
    public boolean verbose() {
        return verbose;
    }

    @Override
    public void verbose(String line) {
        if (verbose) {
            console.println(line);
        }
    }
}
