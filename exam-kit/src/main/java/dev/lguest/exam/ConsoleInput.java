/*
 * A guest's console input that a test types into: an InputStream the virtio console
 * reads from (blocking, as a keyboard would), fed by GuestRun.type().
 *
 * The console reads on a daemon thread of its own and stops it with an interrupt,
 * so a blocked read answers an interrupt with InterruptedIOException.
 */
package dev.lguest.exam;

import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

final class ConsoleInput extends InputStream {
    private static final byte[] END = new byte[0];

    private final BlockingQueue<byte[]> chunks = new LinkedBlockingQueue<>();
    private byte[] current = new byte[0];
    private int position;
    private boolean ended;

    /** Queues bytes for the guest. */
    void feed(byte[] bytes) {
        if (bytes.length > 0) {
            chunks.add(bytes.clone());
        }
    }

    /** No more input: the reader sees end of stream once it has read what was fed. */
    void end() {
        chunks.add(END);
    }

    @Override
    public synchronized int read() throws InterruptedIOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    /** Blocks until something was typed, then returns what is at hand (at most len bytes). */
    @Override
    public synchronized int read(byte[] buffer, int offset, int length) throws InterruptedIOException {
        if (length == 0) {
            return 0;
        }
        while (position == current.length) {
            if (ended) {
                return -1;
            }
            try {
                current = chunks.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("console input interrupted");
            }
            position = 0;
            ended = current == END;
        }
        int n = Math.min(length, current.length - position);
        System.arraycopy(current, position, buffer, offset, n);
        position += n;
        return n;
    }

    @Override
    public synchronized int available() {
        return current.length - position;
    }
}
