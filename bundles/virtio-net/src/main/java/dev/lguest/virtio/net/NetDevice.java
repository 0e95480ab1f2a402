package dev.lguest.virtio.net;

import dev.lguest.api.launcher.ConfigField;
import dev.lguest.api.launcher.DescriptorChain;
import dev.lguest.api.launcher.DeviceHost;
import dev.lguest.api.launcher.DeviceState;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.NetState;
import dev.lguest.api.launcher.Virtqueue;
import dev.lguest.api.launcher.VirtqueueFault;
import dev.lguest.api.net.NetworkLink;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * One guest's virtio network card, as 2.6.24's virtio_net.c drives it: two queues,
 * receive then transmit; a feature field and the MAC address in the config.
 *
 * Every chain starts with struct virtio_net_hdr (8 bytes in 2.6.24: flags, gso_type,
 * gso_size, csum_start, csum_offset) in a descriptor of its own, then the Ethernet
 * frame. lguest.c insists on exactly that shape ("Bad iovec size %zu for struct
 * virtio_net_hdr"), and so do we: a guest that breaks it dies with that reason.
 *
 * Transmit: each readable chain on the transmit queue is one frame for the link. We
 * offer no features (no checksum offload, no segmentation: a 2.6.24 receiver posts
 * 1514-byte buffers and could not take a 64 KiB TSO frame anyway), so a header asking
 * for either, a frame longer than an Ethernet frame or shorter than its header is
 * dropped and counted, and the guest goes on. A writable buffer there is lguest.c's
 * "Input buffers in output queue?" and kills the guest.
 *
 * Receive: the link delivers frames on its own thread; they wait in a bounded queue
 * (a full queue drops and counts: a peer flooding us costs memory no more than that),
 * and a {@link GuestWaker} breaks the guest out of its run so that the Launcher's
 * thread moves them into the buffers the guest posted, the only thread that may touch
 * the rings. They also move when the guest posts new buffers. A frame larger than the
 * guest's buffer is dropped: the buffer goes back with the header only, which the
 * guest counts as a length error.
 *
 * Every delivery raises the receive interrupt, even when the guest asked for none.
 * 2.6.24's virtio_net turns its receive interrupts off in the first one it takes
 * (skb_recv_done returns false) and only its NAPI poll turns them back on; an
 * interrupt that comes before virtnet_open() has enabled the poll, between its first
 * kick and napi_enable(), schedules nothing and leaves them off for good: the guest
 * never hears of a frame again. Frames are waiting at that kick whenever the network
 * spoke first (a host sends IPv6 neighbour discovery on a TAP interface the moment it
 * is up), and we move them in at the kick itself. The next delivery's interrupt,
 * unasked, then schedules the poll; while the poll runs one finds it scheduled and
 * costs the guest its handler, as the virtio ring allows.
 *
 * Hand-over (the bundle swapped while the guest runs): the waker stops, and the link,
 * the queue of waiting frames and the counters go to the successor as a {@link
 * NetState}. The link keeps delivering into that queue until the successor points it
 * at its own receiver, so nothing arriving meanwhile is lost.
 */
final class NetDevice implements GuestDevice {
    static final int RECEIVE_QUEUE = 0;
    static final int TRANSMIT_QUEUE = 1;

    // Config field types (VIRTIO_CONFIG_NET_*).
    static final int FIELD_FEATURES = 0x40;
    static final int FIELD_MAC = 0x41;
    /** As the block device's: room for the host's bits and the guest's acknowledgements (virtio_use_bit). */
    static final int FEATURES_BYTES = 32;
    /** The bits we offer: none, see above. */
    static final int HOST_FEATURES = 0;

    /** struct virtio_net_hdr in 2.6.24. */
    static final int HEADER_BYTES = 8;
    static final int HEADER_FLAGS = 0;
    static final int HEADER_GSO_TYPE = 1;
    static final int GSO_NONE = 0;
    /** ETH_HLEN and ETH_HLEN + ETH_DATA_LEN: the guest's MAX_PACKET_LEN. */
    static final int ETHERNET_HEADER = 14;
    static final int MAX_FRAME = 1514;
    /** Frames waiting for receive buffers at most. */
    static final int PENDING_LIMIT = 512;

    private final DeviceHost host;
    private final NetworkLink link;
    private final byte[] mac;
    private final BlockingQueue<byte[]> pending;
    private final NetCounters counters;
    private final GuestWaker waker;
    private Virtqueue receive;
    private Virtqueue transmit;

    /** A new device on {@code link}, which until {@link #connect} delivers into {@code pending}. */
    NetDevice(DeviceHost host, NetworkLink link, byte[] mac, BlockingQueue<byte[]> pending) {
        this(host, link, mac, pending, new NetCounters());
    }

    /** The queue a link delivers into before its device is connected. */
    static BlockingQueue<byte[]> newPendingQueue() {
        return new ArrayBlockingQueue<>(PENDING_LIMIT);
    }

    /** The successor of another device: its link, its waiting frames and its counts. */
    NetDevice(DeviceHost host, NetState state) {
        this(host, state.link(), state.mac(), state.pendingFrames(), NetCounters.from(state.counters()));
    }

    private NetDevice(DeviceHost host, NetworkLink link, byte[] mac, BlockingQueue<byte[]> pending,
                      NetCounters counters) {
        this.host = host;
        this.link = link;
        this.mac = mac.clone();
        this.pending = pending;
        this.counters = counters;
        this.waker = new GuestWaker(host::wakeGuest);
    }

    /** A frame for the guest, on the link's thread. */
    void arrived(byte[] frame) {
        if (pending.offer(frame)) {
            waker.poke();
        } else {
            counters.add(NetCounters.RX_QUEUE_FULL);
        }
    }

    @Override
    public int queueCount() {
        return 2;
    }

    @Override
    public List<ConfigField> configFields() {
        byte[] features = new byte[FEATURES_BYTES];
        features[0] = (byte) HOST_FEATURES;
        return List.of(new ConfigField(FIELD_FEATURES, features), new ConfigField(FIELD_MAC, mac));
    }

    @Override
    public String describe() {
        return "net " + HexFormat.ofDelimiter(":").formatHex(mac) + " on " + link.describe();
    }

    @Override
    public void connect(List<Virtqueue> queues) {
        receive = queues.get(RECEIVE_QUEUE);
        transmit = queues.get(TRANSMIT_QUEUE);
        // Last of all: a hand-over can still fail before this, and the old device
        // would then be left with a link feeding us.
        link.receiveWith(this::arrived);
        waker.start();
        if (!pending.isEmpty()) {
            waker.poke();
        }
    }

    @Override
    public void notified(int index) {
        if (index == TRANSMIT_QUEUE) {
            transmitAll();
        } else {
            // New receive buffers: frames that waited for them can go in now.
            deliverPending();
        }
    }

    @Override
    public void serviceInput() {
        deliverPending();
    }

    private void transmitAll() {
        boolean any = false;
        for (DescriptorChain chain = transmit.next(); chain != null; chain = transmit.next()) {
            transmit.used(chain, transmitOne(chain));
            any = true;
        }
        if (any) {
            transmit.interrupt();
        }
    }

    /** Sends one chain's frame, or drops it; returns the length the guest is told was sent. */
    private int transmitOne(DescriptorChain chain) {
        if (!chain.writable().isEmpty()) {
            throw new VirtqueueFault("Input buffers in output queue?");
        }
        List<DescriptorChain.Buffer> readable = chain.readable();
        checkHeader(readable, "transmit");
        MemorySegment header = chain.segment(readable.getFirst());
        long frameLength = chain.readableLength() - HEADER_BYTES;
        if (header.get(ValueLayout.JAVA_BYTE, HEADER_FLAGS) != 0
                || header.get(ValueLayout.JAVA_BYTE, HEADER_GSO_TYPE) != GSO_NONE) {
            counters.add(NetCounters.TX_OFFLOAD_ASKED);
            return 0;
        }
        if (frameLength > MAX_FRAME) {
            counters.add(NetCounters.TX_TOO_LONG);
            return 0;
        }
        if (frameLength < ETHERNET_HEADER) {
            counters.add(NetCounters.TX_TOO_SHORT);
            return 0;
        }
        byte[] frame = new byte[(int) frameLength];
        int done = 0;
        for (DescriptorChain.Buffer b : readable.subList(1, readable.size())) {
            MemorySegment.copy(chain.segment(b), ValueLayout.JAVA_BYTE, 0, frame, done, (int) b.length());
            done += (int) b.length();
        }
        link.send(frame, frame.length);
        counters.add(NetCounters.TX_FRAMES);
        return frame.length;
    }

    /** The first buffer must be the header and nothing else (lguest.c's convert()). */
    private static void checkHeader(List<DescriptorChain.Buffer> buffers, String queue) {
        long size = buffers.isEmpty() ? 0 : buffers.getFirst().length();
        if (size != HEADER_BYTES) {
            throw new VirtqueueFault("Bad iovec size " + size + " for struct virtio_net_hdr (" + queue + ")");
        }
    }

    private void deliverPending() {
        boolean any = false;
        while (!pending.isEmpty()) {
            DescriptorChain chain = receive.next();
            if (chain == null) {
                // No buffers: the frames wait until the guest posts some and kicks.
                break;
            }
            byte[] frame = pending.poll();
            receive.used(chain, receiveOne(chain, frame));
            any = true;
        }
        if (any) {
            receive.interruptEvenIfSuppressed();
        }
    }

    /** Puts one frame into one receive chain; returns the bytes written. */
    private int receiveOne(DescriptorChain chain, byte[] frame) {
        if (!chain.readable().isEmpty()) {
            throw new VirtqueueFault("Output buffers in network recv queue?");
        }
        List<DescriptorChain.Buffer> writable = chain.writable();
        checkHeader(writable, "receive");
        // A zero header: no checksum to finish, not a GSO frame.
        chain.segment(writable.getFirst()).fill((byte) 0);
        if (chain.writableLength() - HEADER_BYTES < frame.length) {
            counters.add(NetCounters.RX_TOO_LONG);
            return HEADER_BYTES;
        }
        int done = 0;
        for (DescriptorChain.Buffer b : writable.subList(1, writable.size())) {
            if (done == frame.length) {
                break;
            }
            int n = (int) Math.min(b.length(), frame.length - done);
            MemorySegment.copy(frame, done, chain.segment(b), ValueLayout.JAVA_BYTE, 0, n);
            done += n;
        }
        counters.add(NetCounters.RX_FRAMES);
        return HEADER_BYTES + frame.length;
    }

    /** For tests and --verbose: a counter's value now. */
    long counter(String name) {
        return counters.get(name);
    }

    /** For tests: frames waiting for receive buffers. */
    int waiting() {
        return pending.size();
    }

    @Override
    public DeviceState suspend() {
        waker.stop();
        return new NetState(mac, HOST_FEATURES, link, pending, counters.snapshot());
    }

    @Override
    public void resume() {
        link.receiveWith(this::arrived);
        waker.start();
    }

    @Override
    public void retire() {
        // The link and the waiting frames went to the successor, which points the link
        // at itself; the waker has stopped.
    }

    @Override
    public void close() {
        waker.stop();
        link.close();
        if (host.verbose()) {
            host.verbose("net: " + counters);
        }
    }
}
