package dev.lguest.nettap;

import dev.lguest.api.net.FrameReceiver;
import dev.lguest.api.net.NetworkLink;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One guest's TAP interface: frames the guest sends are written to the TAP file
 * descriptor (one write, one frame), and a reader thread reads what the host sends
 * it (one read, one frame) and hands it on. The reader polls with a short timeout so
 * that closing the link ends it without closing a descriptor under a blocked read.
 *
 * A write that fails (the interface went down, the host's queue is full) drops the
 * frame and counts it; the first failure is also said once on the log. A read that
 * fails for good ends the reader: the link is down, said once.
 */
final class TapLink implements NetworkLink {
    private static final System.Logger LOG = System.getLogger(TapLink.class.getName());
    private static final int FRAME_BUFFER = 65536;
    private static final int POLL_MILLIS = 100;

    private final int fd;
    private final String description;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment sendBuffer = arena.allocate(FRAME_BUFFER);
    private final AtomicLong dropped = new AtomicLong();
    private final Thread reader;
    private volatile FrameReceiver receiver;
    private volatile boolean open = true;
    private boolean writeFailureSaid;

    TapLink(TapSetup.Opened tap, String description, FrameReceiver receiver) {
        this.fd = tap.fd();
        this.description = description;
        this.receiver = receiver;
        this.reader = new Thread(this::readFrames, "lguest-tap-" + tap.name());
        reader.setDaemon(true);
        reader.start();
    }

    @Override
    public synchronized void send(byte[] frame, int length) {
        if (!open || length > FRAME_BUFFER) {
            dropped.incrementAndGet();
            return;
        }
        MemorySegment.copy(frame, 0, sendBuffer, ValueLayout.JAVA_BYTE, 0, length);
        long n = Libc.write(fd, sendBuffer, length);
        if (n != length) {
            dropped.incrementAndGet();
            if (!writeFailureSaid) {
                writeFailureSaid = true;
                LOG.log(System.Logger.Level.WARNING, description + ": a frame could not be written ("
                        + (n < 0 ? Libc.describe(Libc.errno()) : "short write") + "); such frames are dropped");
            }
        }
    }

    private void readFrames() {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment buffer = local.allocate(FRAME_BUFFER);
            MemorySegment pollFd = local.allocate(8);
            while (open) {
                pollFd.set(ValueLayout.JAVA_INT, 0, fd);
                pollFd.set(ValueLayout.JAVA_SHORT, 4, Libc.POLLIN);
                pollFd.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
                int ready = Libc.poll(pollFd, 1, POLL_MILLIS);
                if (ready == 0 || (ready < 0 && Libc.errno() == Libc.EINTR)) {
                    continue;
                }
                if (ready < 0) {
                    down("poll failed: " + Libc.describe(Libc.errno()));
                    return;
                }
                long n = Libc.read(fd, buffer, FRAME_BUFFER);
                if (n < 0) {
                    int errno = Libc.errno();
                    if (errno == Libc.EAGAIN || errno == Libc.EINTR) {
                        continue;
                    }
                    down("read failed: " + Libc.describe(errno));
                    return;
                }
                if (n == 0) {
                    continue;
                }
                FrameReceiver r = receiver;
                if (r != null && open) {
                    r.frame(buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
                }
            }
        }
    }

    private void down(String why) {
        if (open) {
            LOG.log(System.Logger.Level.WARNING, description + ": the link is down: " + why);
        }
    }

    @Override
    public void receiveWith(FrameReceiver receiver) {
        this.receiver = receiver;
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public long dropped() {
        return dropped.get();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (!open) {
                return;
            }
            open = false;
        }
        try {
            reader.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // The interface goes away with its last descriptor, as lguest's does with its process.
        Libc.close(fd);
        arena.close();
    }
}
