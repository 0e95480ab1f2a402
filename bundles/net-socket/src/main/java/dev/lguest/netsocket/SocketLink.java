package dev.lguest.netsocket;

import dev.lguest.api.net.FrameReceiver;
import dev.lguest.api.net.NetworkLink;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One guest's end of a socket segment. Two threads of its own: one reads frames from
 * the peer and hands them to the guest's device, one writes the guest's frames to the
 * peer from a bounded queue, so that a peer that stops reading never holds up the
 * guest (its frames are dropped and counted instead, as on a congested wire). A
 * listening link accepts its peer on the reader thread, and a new one after a peer
 * left.
 */
final class SocketLink implements NetworkLink {
    private static final System.Logger LOG = System.getLogger(SocketLink.class.getName());
    /** An Ethernet frame is at most this long (a jumbo one, to be generous); longer is a broken peer. */
    static final int MAX_FRAME = 65536;
    private static final int SEND_QUEUE = 512;

    private final String description;
    private final ServerSocket server;
    private final BlockingQueue<byte[]> outgoing = new ArrayBlockingQueue<>(SEND_QUEUE);
    private final AtomicLong dropped = new AtomicLong();
    private final Thread reader;
    private final Thread writer;
    private volatile FrameReceiver receiver;
    private volatile Socket peer;
    private volatile boolean open = true;

    SocketLink(String description, ServerSocket server, Socket connected, FrameReceiver receiver) {
        this.description = description;
        this.server = server;
        this.peer = connected;
        this.receiver = receiver;
        this.reader = new Thread(this::readLoop, "lguest-net-socket-reader");
        this.writer = new Thread(this::writeLoop, "lguest-net-socket-writer");
        reader.setDaemon(true);
        writer.setDaemon(true);
        reader.start();
        writer.start();
    }

    @Override
    public void send(byte[] frame, int length) {
        Socket p = peer;
        byte[] copy = length == frame.length ? frame : java.util.Arrays.copyOf(frame, length);
        if (!open || p == null || !outgoing.offer(copy)) {
            dropped.incrementAndGet();
        }
    }

    private void readLoop() {
        while (open) {
            Socket p = peer;
            if (p == null) {
                if (server == null) {
                    return;
                }
                try {
                    p = server.accept();
                    p.setTcpNoDelay(true);
                    peer = p;
                } catch (IOException e) {
                    if (open) {
                        LOG.log(System.Logger.Level.WARNING, description + ": accept failed: " + e.getMessage());
                    }
                    return;
                }
            }
            try {
                p.setTcpNoDelay(true);
                DataInputStream in = new DataInputStream(new BufferedInputStream(p.getInputStream(), 1 << 16));
                while (open) {
                    int length = in.readInt();
                    if (length < 0 || length > MAX_FRAME) {
                        throw new IOException("the peer sent a frame of " + length + " bytes");
                    }
                    byte[] frame = new byte[length];
                    in.readFully(frame);
                    FrameReceiver r = receiver;
                    if (r != null) {
                        r.frame(frame);
                    }
                }
            } catch (EOFException e) {
                peerGone(p, "the peer closed the connection");
            } catch (IOException e) {
                peerGone(p, e.getMessage());
            }
        }
    }

    private void peerGone(Socket p, String why) {
        if (!open) {
            return;
        }
        LOG.log(System.Logger.Level.WARNING, description + ": the link is down: " + why
                + (server != null ? "; waiting for another peer" : ""));
        try {
            p.close();
        } catch (IOException ignored) {
            // Going anyway.
        }
        peer = null;
        outgoing.clear();
        if (server == null) {
            open = false;
        }
    }

    private void writeLoop() {
        DataOutputStream out = null;
        Socket current = null;
        try {
            while (open) {
                byte[] frame = outgoing.poll(100, TimeUnit.MILLISECONDS);
                Socket p = peer;
                if (p != current) {
                    current = p;
                    out = p == null ? null : new DataOutputStream(new BufferedOutputStream(p.getOutputStream(), 1 << 16));
                }
                if (out == null) {
                    if (frame != null) {
                        dropped.incrementAndGet();
                    }
                    continue;
                }
                if (frame == null) {
                    continue;
                }
                try {
                    out.writeInt(frame.length);
                    out.write(frame);
                    if (outgoing.isEmpty()) {
                        out.flush();
                    }
                } catch (IOException e) {
                    dropped.incrementAndGet();
                    // The reader notices too and says so.
                    out = null;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, description + ": cannot write to the peer: " + e.getMessage());
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
        open = false;
        try {
            if (server != null) {
                server.close();
            }
            Socket p = peer;
            if (p != null) {
                p.close();
            }
        } catch (IOException ignored) {
            // Closing anyway.
        }
        writer.interrupt();
    }
}
