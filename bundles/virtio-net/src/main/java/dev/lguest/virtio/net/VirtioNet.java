package dev.lguest.virtio.net;

import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.DeviceHandover;
import dev.lguest.api.launcher.DeviceHost;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.HandoverException;
import dev.lguest.api.launcher.LauncherDevice;
import dev.lguest.api.launcher.NetState;
import dev.lguest.api.launcher.SavedNetState;
import dev.lguest.api.net.NetworkBackend;
import dev.lguest.api.net.NetworkException;
import dev.lguest.api.net.NetworkLink;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import java.security.SecureRandom;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The virtio network device as a Launcher device: a guest gets one when its boot spec
 * names a network ("switch:lan0", or "tap:10.0.0.1" for lguest's --tunnet), joined
 * through the {@link NetworkBackend} service of that kind. A build without a backend
 * of that kind refuses the boot in one line, as does a backend that cannot open the
 * link (no permission for TAP, say). lguest.c gives every network device its own
 * card; we give one per guest (the first network named), which is what the command
 * line asks for.
 *
 * The guest's MAC address is random and locally administered (02:xx:...): unique
 * enough on one segment, and never a real vendor's. It also takes over a running
 * guest's card from another implementation (a swap of this bundle), with its link,
 * and puts a card from a snapshot back on the network its restore names.
 */
@Component(service = LauncherDevice.class)
public final class VirtioNet implements LauncherDevice {
    /** VIRTIO_ID_NET. */
    static final int TYPE = 1;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final List<NetworkBackend> backends = new CopyOnWriteArrayList<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindBackend(NetworkBackend backend) {
        backends.add(backend);
    }

    void unbindBackend(NetworkBackend backend) {
        backends.remove(backend);
    }

    @Override
    public int type() {
        return TYPE;
    }

    @Override
    public String name() {
        return "net";
    }

    @Override
    public Optional<GuestDevice> attach(BootSpec spec, DeviceHost host) throws BootException {
        if (spec.networks().isEmpty()) {
            return Optional.empty();
        }
        if (spec.networks().size() > 1) {
            throw new BootException("one network per guest: " + String.join(", ", spec.networks()));
        }
        BlockingQueue<byte[]> pending = NetDevice.newPendingQueue();
        NetworkLink link;
        try {
            link = open(spec.networks().getFirst(), pending);
        } catch (NetworkException e) {
            throw new BootException(e.getMessage());
        }
        return Optional.of(new NetDevice(host, link, randomMac(), pending));
    }

    /** Joins {@code network} ("KIND:ARGUMENT") through the backend of that kind; frames for the guest go to {@code pending}. */
    private NetworkLink open(String network, BlockingQueue<byte[]> pending) throws NetworkException {
        int colon = network.indexOf(':');
        if (colon <= 0) {
            throw new NetworkException("--net=" + network + ": say which kind of network, e.g. switch:NAME");
        }
        String kind = network.substring(0, colon);
        NetworkBackend backend = backends.stream().filter(b -> b.kind().equals(kind)).findFirst()
                .orElseThrow(() -> new NetworkException("--net=" + network + ": this build has no '" + kind
                        + "' network backend"));
        return backend.open(network.substring(colon + 1), pending::offer);
    }

    /** A random unicast, locally administered MAC address. */
    static byte[] randomMac() {
        byte[] mac = new byte[6];
        RANDOM.nextBytes(mac);
        mac[0] = (byte) ((mac[0] & 0xfc) | 0x02);
        return mac;
    }

    /**
     * Takes over a running guest's card (its {@link NetState}, link and all), or puts a
     * card from a snapshot ({@link SavedNetState}) back on the network the restore
     * names: a new link, the frames that were waiting queued first, the same MAC.
     */
    @Override
    public GuestDevice adopt(DeviceHandover handover, DeviceHost host) throws HandoverException {
        if (handover.type() == TYPE && handover.state() instanceof SavedNetState saved) {
            checkShape(handover, saved.hostFeatures());
            BlockingQueue<byte[]> pending = NetDevice.newPendingQueue();
            // At most PENDING_LIMIT frames come from a file (DeviceSections bounds them);
            // any beyond the queue's room are dropped, as a flood's are.
            saved.pendingFrames().forEach(pending::offer);
            NetworkLink link;
            try {
                link = open(saved.network(), pending);
            } catch (NetworkException e) {
                throw new HandoverException(e.getMessage());
            }
            return new NetDevice(host, new NetState(saved.mac(), saved.hostFeatures(), link, pending,
                    saved.counters()));
        }
        if (handover.type() != TYPE || !(handover.state() instanceof NetState state)) {
            throw new HandoverException("net: cannot take over a device of type " + handover.type()
                    + " with state " + (handover.state() == null ? "none" : handover.state().getClass().getSimpleName()));
        }
        checkShape(handover, state.hostFeatures());
        return new NetDevice(host, state);
    }

    /** The guest's card must be one this device can be: two queues, the features we offer. */
    private static void checkShape(DeviceHandover handover, int hostFeatures) throws HandoverException {
        if (handover.queues().size() != 2) {
            throw new HandoverException("net: the guest's card has " + handover.queues().size() + " queues, not 2");
        }
        if (hostFeatures != NetDevice.HOST_FEATURES) {
            throw new HandoverException(String.format("net: the guest was offered features %#x, this device offers %#x",
                    hostFeatures, NetDevice.HOST_FEATURES));
        }
    }
}
