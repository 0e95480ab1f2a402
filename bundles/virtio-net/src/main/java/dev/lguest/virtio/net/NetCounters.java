package dev.lguest.virtio.net;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What one network device counted: frames passed each way, and every kind of frame
 * it dropped. Counted on the guest's thread and on the link's, so atomically; handed
 * over by name, so two builds of the device agree without sharing classes.
 */
final class NetCounters {
    static final String TX_FRAMES = "tx.frames";
    static final String TX_TOO_LONG = "tx.dropped.too-long";
    static final String TX_TOO_SHORT = "tx.dropped.too-short";
    static final String TX_OFFLOAD_ASKED = "tx.dropped.offload-not-offered";
    static final String RX_FRAMES = "rx.frames";
    static final String RX_TOO_LONG = "rx.dropped.too-long-for-buffer";
    static final String RX_QUEUE_FULL = "rx.dropped.queue-full";
    private static final String[] NAMES = {TX_FRAMES, TX_TOO_LONG, TX_TOO_SHORT, TX_OFFLOAD_ASKED, RX_FRAMES,
            RX_TOO_LONG, RX_QUEUE_FULL};

    private final AtomicLongArray values = new AtomicLongArray(NAMES.length);

    static NetCounters from(Map<String, Long> byName) {
        NetCounters c = new NetCounters();
        for (int i = 0; i < NAMES.length; i++) {
            c.values.set(i, byName.getOrDefault(NAMES[i], 0L));
        }
        return c;
    }

    void add(String name) {
        values.incrementAndGet(index(name));
    }

    long get(String name) {
        return values.get(index(name));
    }

    Map<String, Long> snapshot() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (int i = 0; i < NAMES.length; i++) {
            m.put(NAMES[i], values.get(i));
        }
        return m;
    }

    private static int index(String name) {
        for (int i = 0; i < NAMES.length; i++) {
            if (NAMES[i].equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException(name);
    }

    @Override
    public String toString() {
        return snapshot().toString();
    }
}
