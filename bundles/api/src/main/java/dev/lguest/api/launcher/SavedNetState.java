package dev.lguest.api.launcher;

import java.util.List;
import java.util.Map;

/**
 * A virtio network card coming back from a snapshot: what its {@link NetState} held
 * but the link. A link is a live connection (a TAP descriptor, a port on a switch, a
 * TCP peer) that no file can carry, so the card joins the network the restoring
 * command line names ({@code --restore=FILE --net=switch:lan0}), through that kind's
 * backend, as a booted card would; the guest keeps its MAC address, its counts and
 * the frames that were waiting for it.
 *
 * @param mac           the MAC address the guest was given
 * @param hostFeatures  the feature bits the device offered (VIRTIO_NET_F_*)
 * @param pendingFrames frames for the guest that were waiting for a receive buffer, oldest first
 * @param counters      the device's counters by name
 * @param savedOn       what the card was on when it was saved ({@link dev.lguest.api.net.NetworkLink#describe()})
 * @param network       the network to join now, "KIND:ARGUMENT" as in {@link BootSpec#networks()}
 */
public record SavedNetState(byte[] mac, int hostFeatures, List<byte[]> pendingFrames, Map<String, Long> counters,
                            String savedOn, String network) implements DeviceState {
    public SavedNetState {
        mac = mac.clone();
        pendingFrames = pendingFrames.stream().map(byte[]::clone).toList();
        counters = Map.copyOf(counters);
    }

    @Override
    public byte[] mac() {
        return mac.clone();
    }

    @Override
    public List<byte[]> pendingFrames() {
        return pendingFrames.stream().map(byte[]::clone).toList();
    }
}
