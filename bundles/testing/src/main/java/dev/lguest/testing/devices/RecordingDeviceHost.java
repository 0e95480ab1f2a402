package dev.lguest.testing.devices;

import dev.lguest.api.launcher.DeviceHost;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * A DeviceHost for the Launcher devices' unit tests: no keyboard; what the device
 * prints, the --verbose lines it writes and the reason it stops its guest for are
 * kept for the test to look at.
 */
public final class RecordingDeviceHost implements DeviceHost {
    public final ByteArrayOutputStream output = new ByteArrayOutputStream();
    public final List<String> verboseLines = new ArrayList<>();
    public String stoppedFor;

    @Override
    public PrintStream console() {
        return new PrintStream(output, true);
    }

    @Override
    public InputStream input() {
        return null;
    }

    @Override
    public void wakeGuest() {
    }

    @Override
    public void stopGuest(String reason) {
        stoppedFor = reason;
    }

    @Override
    public boolean verbose() {
        return true;
    }

    @Override
    public void verbose(String line) {
        verboseLines.add(line);
    }
}
