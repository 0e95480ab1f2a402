package dev.lguest.api.launcher;

import dev.lguest.api.net.NetworkLink;

import java.util.Map;
import java.util.concurrent.BlockingQueue;

/**
 * A virtio network device's state at a hand-over: its link to the network, still
 * open, the frames that arrived for the guest and wait for a receive buffer, the
 * configuration the guest read at boot (its MAC address and the feature bits it was
 * offered), and the device's counters, so that "dropped" still counts from boot.
 *
 * The waiting frames are a JDK queue that the old device's receiver keeps filling
 * until the successor points the link at its own: a frame arriving in the middle of
 * the hand-over is waiting there, not lost. From the hand-over on, the link and the
 * queue belong to the successor, which closes the link.
 *
 * @param mac           the MAC address the guest was given
 * @param hostFeatures  the feature bits the device offered (VIRTIO_NET_F_*)
 * @param link          the open link
 * @param pendingFrames frames for the guest, oldest first
 * @param counters      the device's counters by name
 */
public record NetState(byte[] mac, int hostFeatures, NetworkLink link, BlockingQueue<byte[]> pendingFrames,
                       Map<String, Long> counters) implements DeviceState {
    public NetState {
        mac = mac.clone();
        counters = Map.copyOf(counters);
    }

    @Override
    public byte[] mac() {
        return mac.clone();
    }

    /** Closes the link: no device will take it. */
    @Override
    public void release() {
        link.close();
    }
}
