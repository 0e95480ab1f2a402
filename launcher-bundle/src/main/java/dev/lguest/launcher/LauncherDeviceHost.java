package dev.lguest.launcher;

import dev.lguest.api.device.LguestFile;
import dev.lguest.api.device.LguestRequest;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.launcher.DeviceHost;

import java.io.InputStream;
import java.io.PrintStream;

/**
 * What the Launcher offers one guest's devices: the console (standard output), and
 * --verbose lines, which go to standard error between the guest's lines
 * ({@link ConsoleLines}). Its wakeGuest() is lguest.c's Waker:
 * a write of LHREQ_BREAK 1, which pops the guest's thread out of its read with
 * EAGAIN and then blocks until that thread has served the input and written
 * LHREQ_BREAK 0. /dev/lguest allows BREAK from any thread, which is the point: the
 * thread with the input is not the one that runs the guest.
 *
 * The keyboard itself is read here, by a thread of the Launcher's, and the devices
 * read it through a stream that answers an interrupt at once and without consuming a
 * byte. A blocking read of System.in ignores interrupts; a console being handed to a
 * new implementation must stop its reader between two keys, and this is how it can.
 */
final class LauncherDeviceHost implements DeviceHost {
    private final ConsoleLines lines;
    private final InputStream input;
    private final boolean verbose;
    private volatile LguestFile file;
    private volatile String userStopReason;

    LauncherDeviceHost(ConsoleLines lines, InputStream input, boolean verbose) {
        this.lines = lines;
        this.input = input == null ? null : new KeyboardRelay(input);
        this.verbose = verbose;
    }

    /** The guest's /dev/lguest, once it is open. */
    void attach(LguestFile f) {
        file = f;
    }

    @Override
    public PrintStream console() {
        return lines.console();
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
            // Noted before the kill, so that the guest's thread, which may see the death
            // at once, finds the note; a guest already dead for another reason keeps it.
            userStopReason = reason;
            g.kill(reason);
        }
    }

    /** True if the guest died of a device's stop at its user's request (the console's triple ^C). */
    boolean stoppedByUser(String deathReason) {
        return deathReason.equals(userStopReason);
    }

    /**
     * The keyboard as the devices read it: a daemon thread (started at the first read)
     * reads the real input into a bounded buffer; reads take from that buffer and wait
     * interruptibly. The bound keeps a guest that takes no input from making us buffer
     * a whole file.
     */
    static final class KeyboardRelay extends InputStream {
        private static final int LIMIT = 4096;
        private final InputStream source;
        private final java.util.ArrayDeque<Byte> bytes = new java.util.ArrayDeque<>();
        private boolean ended;
        private Thread reader;

        KeyboardRelay(InputStream source) {
            this.source = source;
        }

        private void pump() {
            byte[] buffer = new byte[256];
            try {
                while (true) {
                    synchronized (this) {
                        while (bytes.size() >= LIMIT) {
                            wait();
                        }
                    }
                    int n = source.read(buffer);
                    synchronized (this) {
                        if (n < 0) {
                            break;
                        }
                        for (int i = 0; i < n; i++) {
                            bytes.add(buffer[i]);
                        }
                        notifyAll();
                    }
                }
            } catch (java.io.IOException | InterruptedException e) {
                // The keyboard is gone: readers see the end of it.
            }
            synchronized (this) {
                ended = true;
                notifyAll();
            }
        }

        @Override
        public int read() throws java.io.IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public synchronized int read(byte[] into, int offset, int length) throws java.io.IOException {
            if (length == 0) {
                return 0;
            }
            if (reader == null) {
                reader = new Thread(this::pump, "lguest-keyboard");
                reader.setDaemon(true);
                reader.start();
            }
            try {
                while (bytes.isEmpty() && !ended) {
                    wait();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("keyboard read interrupted");
            }
            if (bytes.isEmpty()) {
                return -1;
            }
            int n = 0;
            while (n < length && !bytes.isEmpty()) {
                into[offset + n++] = bytes.poll();
            }
            notifyAll();
            return n;
        }

        @Override
        public synchronized int available() {
            return bytes.size();
        }
    }

    @Override
    public boolean verbose() {
        return verbose;
    }

    @Override
    public void warn(String line) {
        lines.diagnostic("lguest: " + line);
    }

    @Override
    public void verbose(String line) {
        if (verbose) {
            lines.diagnostic(line);
        }
    }
}
