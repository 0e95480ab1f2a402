package dev.lguest.launcher;

import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.ConfigField;
import dev.lguest.api.launcher.DeviceHandover;
import dev.lguest.api.launcher.DeviceHost;
import dev.lguest.api.launcher.DeviceState;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.HandoverException;
import dev.lguest.api.launcher.LauncherDevice;
import dev.lguest.api.launcher.QueuePosition;
import dev.lguest.api.launcher.Virtqueue;
import dev.lguest.api.launcher.VirtqueueFault;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.GuestMemoryFault;
import dev.lguest.api.memory.PhysicalMemory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.IntConsumer;

/**
 * The devices of one guest, once laid out: which ring a NOTIFY names, and the device
 * behind it. This is lguest.c's handle_output() and handle_input().
 *
 * A NOTIFY at or above the top of RAM names a virtqueue by its ring's first page
 * (Linux sends pfn << 12). The device serves it on the Launcher's thread; whatever
 * it throws ends up as the guest's cause of death, never as an exception out of the
 * Launcher: a VirtqueueFault is the guest's fault, anything else is the device's bug.
 *
 * Hand-over: when the service that made a device (its {@link LauncherDevice}) goes
 * away while the guest runs, another service of the same type takes the device over.
 * Any thread may ask for that ({@link #planHandovers}); the Launcher's thread does it
 * ({@link #performHandovers}) between two notifications, when no device call is under
 * way: the old device suspends and hands over its state, the Launcher adds its ring
 * positions and the configuration the guest read, the new service adopts all that,
 * and the new device gets fresh rings at the same positions. If anything in that fails
 * the old device resumes, and the request completes with the reason.
 */
final class GuestDevices implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(GuestDevices.class.getName());

    /**
     * One attached device and its rings; {@code kind} is the service that made it
     * (null for a device added without one, which is never handed over), and
     * {@code config} the configuration fields the guest was given at boot.
     */
    record Attached(String name, int type, LauncherDevice kind, GuestDevice device, List<VirtqueueRing> rings,
                    List<ConfigField> config) {
    }

    /** A hand-over asked for: {@code done} completes with null, or with why it did not happen. */
    private record Request(Attached from, LauncherDevice to, CompletableFuture<String> done) {
    }

    private final GuestMemory memory;
    private final DevicePage page;
    // Read from any thread (planning, listings); changed only on the Launcher's thread.
    private final List<Attached> attached = new CopyOnWriteArrayList<>();
    private final Queue<Request> requests = new ConcurrentLinkedQueue<>();
    /** Devices with a hand-over asked for and not yet done, so that it is asked for once. */
    private final Set<Attached> requested = ConcurrentHashMap.newKeySet();
    private volatile IntConsumer interruptLine = irq -> {
    };
    private volatile boolean closed;

    GuestDevices(GuestMemory memory, GuestLayout layout) {
        this.memory = memory;
        this.page = new DevicePage(memory, layout);
    }

    /** Lays out {@code device} on the device page and hands it its rings. */
    Attached add(String name, int type, GuestDevice device) throws BootException {
        return add(name, type, null, device);
    }

    /** Lays out {@code device}, made by {@code kind}, on the device page and hands it its rings. */
    Attached add(String name, int type, LauncherDevice kind, GuestDevice device) throws BootException {
        List<ConfigField> config = List.copyOf(device.configFields());
        List<DevicePage.QueuePlacement> placements = page.add(name, type, device.queueCount(), config);
        List<VirtqueueRing> rings = new ArrayList<>();
        for (int q = 0; q < placements.size(); q++) {
            DevicePage.QueuePlacement p = placements.get(q);
            rings.add(new VirtqueueRing(memory, name + " queue " + q, p.ringAddress(), DevicePage.QUEUE_ENTRIES,
                    p.irq(), irq -> interruptLine.accept(irq)));
        }
        device.connect(List.<Virtqueue>copyOf(rings));
        Attached a = new Attached(name, type, kind, device, List.copyOf(rings), config);
        attached.add(a);
        return a;
    }

    List<Attached> attached() {
        return List.copyOf(attached);
    }

    /** Where the rings raise interrupts: LHREQ_IRQ on the guest's /dev/lguest. */
    void setInterruptLine(IntConsumer line) {
        interruptLine = line;
    }

    /** The device name a NOTIFY address belongs to, or null. */
    String nameOf(long address) {
        Found f = find(address);
        return f == null ? null : f.device.name();
    }

    private record Found(Attached device, int queue) {
    }

    private Found find(long address) {
        long pfn = address / PhysicalMemory.PAGE_SIZE;
        for (Attached a : attached) {
            for (int q = 0; q < a.rings().size(); q++) {
                if (a.rings().get(q).descriptorsAddress() / PhysicalMemory.PAGE_SIZE == pfn) {
                    return new Found(a, q);
                }
            }
        }
        return null;
    }

    /** Serves a NOTIFY at {@code address}; returns why the guest must die, or null. */
    String notify(long address) {
        Found f = find(address);
        if (f == null) {
            return String.format("bad NOTIFY %#x: no virtqueue there", address);
        }
        return guarded(f.device, () -> f.device.device().notified(f.queue));
    }

    /** After a BREAK: lets every device deliver its waiting input; returns a cause of death or null. */
    String serviceInput() {
        for (Attached a : attached) {
            String problem = guarded(a, () -> a.device().serviceInput());
            if (problem != null) {
                return problem;
            }
        }
        return null;
    }

    // ---- hand-over ----

    /**
     * Asks for a hand-over of every device whose service is not in {@code bound} any
     * more, to a bound service of the same type (the same name first); callable from
     * any thread. A device with no such service keeps running as it is, until one is
     * bound and this is called again. Returns the requests made (empty if none).
     */
    List<CompletableFuture<String>> planHandovers(List<LauncherDevice> bound) {
        List<CompletableFuture<String>> made = new ArrayList<>();
        if (closed) {
            return made;
        }
        for (Attached a : attached) {
            if (a.kind() == null || bound.stream().anyMatch(k -> k == a.kind()) || requested.contains(a)) {
                continue;
            }
            LauncherDevice successor = successorFor(a, bound);
            if (successor != null && requested.add(a)) {
                Request r = new Request(a, successor, new CompletableFuture<>());
                requests.add(r);
                made.add(r.done());
            }
        }
        return made;
    }

    /** True if a hand-over waits for the Launcher's thread (a cheap look, for its loop). */
    boolean handoverPending() {
        return !requests.isEmpty();
    }

    private static LauncherDevice successorFor(Attached a, List<LauncherDevice> bound) {
        LauncherDevice sameType = null;
        for (LauncherDevice k : bound) {
            try {
                if (k.type() != a.type()) {
                    continue;
                }
                if (k.name().equals(a.name())) {
                    return k;
                }
                if (sameType == null) {
                    sameType = k;
                }
            } catch (RuntimeException e) {
                // A service going away under us: not a successor.
            }
        }
        return sameType;
    }

    /**
     * Does the hand-overs asked for; only on the Launcher's thread, between two
     * notifications. A hand-over that fails leaves the old device running and is not
     * a reason for the guest to die; returns a cause of death (the new device failing
     * its first input service) or null.
     */
    String performHandovers(DeviceHost host) {
        for (Request r; (r = requests.poll()) != null; ) {
            String problem = handOver(r.from(), r.to(), host);
            requested.remove(r.from());
            if (problem != null) {
                LOG.log(System.Logger.Level.WARNING, "the " + r.from().name() + " device was not handed over: "
                        + problem + "; the old device keeps running");
                host.verbose("device " + r.from().name() + " not handed over: " + problem);
                r.done().complete(problem);
                continue;
            }
            host.verbose("device " + r.from().name() + " handed over to a new implementation");
            r.done().complete(null);
            Attached now = current(r.from().name(), r.from().type());
            // Keystrokes the old device held are the new one's now: deliver what fits.
            String death = now == null ? null : guarded(now, () -> now.device().serviceInput());
            if (death != null) {
                return death;
            }
        }
        return null;
    }

    private Attached current(String name, int type) {
        for (Attached a : attached) {
            if (a.name().equals(name) && a.type() == type) {
                return a;
            }
        }
        return null;
    }

    /** One hand-over; returns null once the new device runs, or why the old one still does. */
    private String handOver(Attached from, LauncherDevice to, DeviceHost host) {
        int index = attached.indexOf(from);
        if (index < 0) {
            return "the device was already replaced";
        }
        GuestDevice old = from.device();
        DeviceState state;
        try {
            state = old.suspend();
        } catch (UnsupportedOperationException e) {
            return e.getMessage();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "device " + from.name() + " failed to suspend", e);
            resume(from);
            return "the old device failed to suspend";
        }
        List<QueuePosition> positions = from.rings().stream().map(VirtqueueRing::position).toList();
        DeviceHandover handover = new DeviceHandover(from.type(), from.name(), positions, from.config(), state);
        GuestDevice next;
        try {
            next = to.adopt(handover, host);
        } catch (HandoverException e) {
            resume(from);
            return e.getMessage();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "device " + from.name() + ": the new implementation failed to adopt it", e);
            resume(from);
            return "the new implementation failed to adopt the device";
        }
        String mismatch = next == null ? "the new implementation gave no device" : shapeMismatch(from, next);
        if (mismatch != null) {
            retire(next, from.name());
            resume(from);
            return mismatch;
        }
        List<VirtqueueRing> rings = from.rings().stream().map(VirtqueueRing::successor).toList();
        try {
            next.connect(List.<Virtqueue>copyOf(rings));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "device " + from.name() + ": the new implementation failed to connect", e);
            retire(next, from.name());
            resume(from);
            return "the new implementation failed to connect to the rings";
        }
        from.rings().forEach(VirtqueueRing::retire);
        attached.set(index, new Attached(from.name(), from.type(), to, next, rings, from.config()));
        retire(old, from.name());
        return null;
    }

    /** Why {@code next} cannot stand in for {@code from} in the guest's eyes, or null. */
    private static String shapeMismatch(Attached from, GuestDevice next) {
        if (next.queueCount() != from.rings().size()) {
            return String.format("the new device has %d queues, the guest knows %d", next.queueCount(),
                    from.rings().size());
        }
        List<ConfigField> config = next.configFields();
        if (config.size() != from.config().size()) {
            return "the new device's configuration differs from what the guest read at boot";
        }
        for (int i = 0; i < config.size(); i++) {
            ConfigField a = config.get(i);
            ConfigField b = from.config().get(i);
            if (a.type() != b.type() || !Arrays.equals(a.data(), b.data())) {
                return String.format("the new device's configuration field %#x differs from what the guest read at boot",
                        a.type());
            }
        }
        return null;
    }

    private static void resume(Attached a) {
        try {
            a.device().resume();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "device " + a.name() + " failed to resume after a failed hand-over", e);
        }
    }

    private static void retire(GuestDevice d, String name) {
        try {
            d.retire();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "device " + name + " failed to retire", e);
        }
    }

    private static String guarded(Attached a, Runnable action) {
        try {
            action.run();
            return null;
        } catch (VirtqueueFault e) {
            return e.getMessage();
        } catch (GuestMemoryFault e) {
            return String.format("%s: bad guest memory access at %#x", a.name(), e.address());
        } catch (RuntimeException e) {
            // Our bug, not the guest's words: the details go to the log, the guest's
            // reason stays plain.
            LOG.log(System.Logger.Level.ERROR, "device " + a.name() + " failed", e);
            return "device " + a.name() + " failed in the Launcher";
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Request r; (r = requests.poll()) != null; ) {
            r.done().complete("the guest ended");
        }
        for (Attached a : attached) {
            try {
                a.device().close();
            } catch (RuntimeException e) {
                // Closing one device must not keep the others open.
            }
        }
    }
}
