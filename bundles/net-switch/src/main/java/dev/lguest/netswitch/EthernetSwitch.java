package dev.lguest.netswitch;

import dev.lguest.api.net.FrameReceiver;
import dev.lguest.api.net.NetworkLink;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One learning Ethernet switch: it remembers on which port each source MAC address
 * was last seen, sends a frame for a known unicast address to that port only, and
 * floods broadcasts, multicasts and unknown addresses to every other port. A frame
 * never goes back out of the port it came in by.
 *
 * A frame is handed to the receiving port's guest device on the sender's thread; the
 * device only queues it (see FrameReceiver), so a sender never waits for a receiver.
 * The same array goes to every port of a flood: receivers only read it.
 */
final class EthernetSwitch {
    private final String name;
    private final Consumer<String> onEmpty;
    private final List<Port> ports = new CopyOnWriteArrayList<>();
    private final Map<MacAddress, Port> learned = new ConcurrentHashMap<>();
    private boolean closed;

    EthernetSwitch(String name, Consumer<String> onEmpty) {
        this.name = name;
        this.onEmpty = onEmpty;
    }

    /** A new port for {@code receiver}, or null if the switch has just closed (its last port left). */
    synchronized Port plug(FrameReceiver receiver) {
        if (closed) {
            return null;
        }
        Port p = new Port(receiver);
        ports.add(p);
        return p;
    }

    private synchronized void unplug(Port p) {
        ports.remove(p);
        learned.values().removeIf(port -> port == p);
        if (ports.isEmpty() && !closed) {
            closed = true;
            onEmpty.accept(name);
        }
    }

    int portCount() {
        return ports.size();
    }

    private void forward(Port from, byte[] frame) {
        MacAddress source = MacAddress.at(frame, 6);
        if (!source.isMulticast()) {
            learned.put(source, from);
        }
        MacAddress destination = MacAddress.at(frame, 0);
        Port to = destination.isMulticast() ? null : learned.get(destination);
        if (to != null) {
            if (to != from) {
                to.deliver(frame);
            }
            return;
        }
        for (Port p : ports) {
            if (p != from) {
                p.deliver(frame);
            }
        }
    }

    /** A 6-byte MAC address as a map key. */
    record MacAddress(long bits) {
        static MacAddress at(byte[] frame, int offset) {
            long v = 0;
            for (int i = 0; i < 6; i++) {
                v = (v << 8) | (frame[offset + i] & 0xff);
            }
            return new MacAddress(v);
        }

        /** The group bit, the first byte's lowest: broadcast and multicast. */
        boolean isMulticast() {
            return (bits & (1L << 40)) != 0;
        }
    }

    /** One guest's place on the switch. */
    final class Port implements NetworkLink {
        private volatile FrameReceiver receiver;
        private volatile boolean open = true;
        private final AtomicLong dropped = new AtomicLong();

        Port(FrameReceiver receiver) {
            this.receiver = receiver;
        }

        @Override
        public void send(byte[] frame, int length) {
            if (!open) {
                dropped.incrementAndGet();
                return;
            }
            if (length < 14) {
                // Not even the two addresses and the type: nothing to switch.
                dropped.incrementAndGet();
                return;
            }
            forward(this, length == frame.length ? frame : Arrays.copyOf(frame, length));
        }

        void deliver(byte[] frame) {
            FrameReceiver r = receiver;
            if (open && r != null) {
                r.frame(frame);
            }
        }

        @Override
        public void receiveWith(FrameReceiver receiver) {
            this.receiver = receiver;
        }

        @Override
        public String describe() {
            return "switch " + name;
        }

        @Override
        public long dropped() {
            return dropped.get();
        }

        @Override
        public void close() {
            if (open) {
                open = false;
                unplug(this);
            }
        }
    }
}
