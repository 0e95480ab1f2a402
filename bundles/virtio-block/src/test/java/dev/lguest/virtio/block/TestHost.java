package dev.lguest.virtio.block;

import dev.lguest.api.launcher.DeviceHost;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** A DeviceHost for device tests: no keyboard, and --verbose lines collected. */
final class TestHost implements DeviceHost {
    final ByteArrayOutputStream output = new ByteArrayOutputStream();
    final List<String> verboseLines = new ArrayList<>();
    String stoppedFor;

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
