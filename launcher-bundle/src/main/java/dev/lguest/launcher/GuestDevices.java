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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
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
 * away while the guest runs, another service of the same type takes the device over,
 * on the thread that noticed ({@link #handOverUnbound}), not on the guest's: the guest
 * keeps running. One lock keeps every device call (a NOTIFY, an input service) and
 * every hand-over apart, so a hand-over happens between two device calls, and what
 * the old device did before it is visible to the thread that suspends it. The old
 * device suspends and hands over its state, the Launcher adds its ring positions and
 * the configuration the guest read, the new service adopts all that, and the new
 * device gets fresh rings at the same positions. None of these calls touches a ring:
 * the guest may be adding buffers at that very moment, and rings are read only on
 * the guest's thread while the guest stands still. If anything in that fails the old
 * device resumes, and the reason is logged. A guest that NOTIFYs the device meanwhile
 * waits for the lock; and once the new device runs, the Launcher's thread gives it an
 * input service (see RunningGuest), as after a BREAK: that is all a device swap
 * costs the guest.
 *
 * Parking: a bundle updated in place stops before its new revision starts, so a
 * service can go away with no successor bound yet. The old device cannot keep
 * running: once its bundle is gone, the first of its classes it had not loaded yet
 * cannot load, and the guest would die of it. So it is suspended and retired at once,
 * while its bundle is still stopping, and parked: the Launcher keeps its state, its
 * rings where they stand and the configuration the guest read, and no implementation
 * runs. A NOTIFY to a parked device waits a while for a successor (the gap of an
 * update is short, and a guest may, as lguest's own Launcher let it, expect a NOTIFY
 * served before it runs on: our test kernel does); the wait lets go of the lock, so
 * the hand-over can happen. If none comes in time, the buffers stay in the ring.
 * When a service of its type is bound, it adopts the parked state as in a hand-over,
 * and the guest's thread, at its next input service, kicks it on every queue, so it
 * serves what the guest queued meanwhile.
 */
final class GuestDevices implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(GuestDevices.class.getName());

    /**
     * One attached device and its rings; {@code kind} is the service that made it
     * (null for a device added without one, which is never handed over), and
     * {@code config} the configuration fields the guest was given at boot. A parked
     * device has {@code parked}, the state its retired implementation handed over, and
     * no implementation ({@code device} and {@code kind} are the retired ones, never
     * called again).
     */
    record Attached(String name, int type, LauncherDevice kind, GuestDevice device, List<VirtqueueRing> rings,
                    List<ConfigField> config, DeviceState parked) {
        Attached(String name, int type, LauncherDevice kind, GuestDevice device, List<VirtqueueRing> rings,
                 List<ConfigField> config) {
            this(name, type, kind, device, rings, config, null);
        }

        boolean isParked() {
            return parked != null;
        }
    }

    private final GuestMemory memory;
    private final DevicePage page;
    // Read from any thread (listings); changed only under the lock.
    private final List<Attached> attached = new CopyOnWriteArrayList<>();
    /** Held for every device call and every hand-over: a device is never called by two threads at once. */
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when a parked device is adopted, or the devices close. */
    private final Condition adoptedOrClosed = lock.newCondition();
    /** How long a NOTIFY to a parked device waits for its successor. */
    private final long parkedWaitNanos;
    private volatile IntConsumer interruptLine = irq -> {
    };
    private boolean closed;
    /** Devices adopted from a parked state, to be kicked on every queue on the guest's thread (under the lock). */
    private final List<Attached> toKick = new ArrayList<>();

    /** The memory the devices write the guest's buffers and rings through (a migration logs it). */
    GuestMemory memory() {
        return memory;
    }

    GuestDevices(GuestMemory memory, GuestLayout layout) {
        this(memory, layout, TimeUnit.SECONDS.toNanos(10));
    }

    GuestDevices(GuestMemory memory, GuestLayout layout, long parkedWaitNanos) {
        this.memory = memory;
        this.page = new DevicePage(memory, layout);
        this.parkedWaitNanos = parkedWaitNanos;
    }

    /** Lays out {@code device} on the device page and hands it its rings. */
    Attached add(String name, int type, GuestDevice device) throws BootException {
        return add(name, type, null, device);
    }

    /** Lays out {@code device}, made by {@code kind}, on the device page and hands it its rings. */
    Attached add(String name, int type, LauncherDevice kind, GuestDevice device) throws BootException {
        lock.lock();
        try {
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
        } finally {
            lock.unlock();
        }
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
        lock.lock();
        try {
            Found f = find(address);
            if (f == null) {
                return String.format("bad NOTIFY %#x: no virtqueue there", address);
            }
            long left = parkedWaitNanos;
            while (f.device.isParked() && !closed && left > 0) {
                try {
                    left = adoptedOrClosed.awaitNanos(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                f = find(address);
                if (f == null) {
                    return String.format("bad NOTIFY %#x: no virtqueue there", address);
                }
            }
            if (f.device.isParked() || closed) {
                // No implementation: the buffers wait in the ring for the successor's kick.
                return null;
            }
            Found served = f;
            return guarded(served.device, () -> served.device.device().notified(served.queue));
        } finally {
            lock.unlock();
        }
    }

    /**
     * After a BREAK: kicks every device adopted from a parked state on each of its
     * queues (the guest may have queued buffers meanwhile), then lets every device
     * deliver its waiting input; returns a cause of death or null.
     */
    String serviceInput() {
        lock.lock();
        try {
            List<Attached> kicks = List.copyOf(toKick);
            toKick.clear();
            for (Attached a : kicks) {
                if (!attached.contains(a)) {
                    continue;
                }
                for (int q = 0; q < a.rings().size(); q++) {
                    int queue = q;
                    String problem = guarded(a, () -> a.device().notified(queue));
                    if (problem != null) {
                        return problem;
                    }
                }
            }
            for (Attached a : attached) {
                if (a.isParked()) {
                    continue;
                }
                String problem = guarded(a, () -> a.device().serviceInput());
                if (problem != null) {
                    return problem;
                }
            }
            return null;
        } finally {
            lock.unlock();
        }
    }

    // ---- snapshots ----

    /** Where one ring of a device lies and where the Launcher stands in it. */
    record RingPlace(long address, int irq, QueuePosition position) {
    }

    /** A device as a snapshot keeps it: what the guest was told, its rings, and its own state. */
    record SavedDevice(String name, int type, List<ConfigField> config, List<RingPlace> rings, DeviceState state) {
        SavedDevice {
            config = List.copyOf(config);
            rings = List.copyOf(rings);
        }
    }

    /**
     * Every device's state now, for a snapshot: each is suspended (its threads stopped,
     * its state taken, as for a hand-over) and resumed at once. Called on the guest's
     * thread between two runs, so the rings stand still too.
     */
    List<SavedDevice> capture() throws dev.lguest.api.snapshot.SnapshotException {
        lock.lock();
        try {
            List<SavedDevice> saved = new ArrayList<>();
            for (Attached a : attached) {
                if (a.isParked()) {
                    // Already suspended: its state is the one it was parked with.
                    List<RingPlace> rings = a.rings().stream()
                            .map(r -> new RingPlace(r.descriptorsAddress(), r.irq(), r.position())).toList();
                    saved.add(new SavedDevice(a.name(), a.type(), a.config(), rings, a.parked()));
                    continue;
                }
                DeviceState state;
                try {
                    state = a.device().suspend();
                } catch (RuntimeException e) {
                    throw new dev.lguest.api.snapshot.SnapshotException("the " + a.name() + " device cannot be saved: "
                            + e.getMessage());
                }
                try {
                    List<RingPlace> rings = a.rings().stream()
                            .map(r -> new RingPlace(r.descriptorsAddress(), r.irq(), r.position())).toList();
                    saved.add(new SavedDevice(a.name(), a.type(), a.config(), rings, state));
                } finally {
                    resume(a);
                }
            }
            return saved;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Puts a saved device back on its rings, as {@code kind} adopts it: the device page
     * and the rings are in the restored memory already, so nothing is laid out again.
     * Returns why it cannot be, or null once it is attached.
     */
    String restore(SavedDevice saved, LauncherDevice kind, DeviceHost host) {
        GuestDevice device;
        try {
            device = kind.adopt(new DeviceHandover(saved.type(), saved.name(),
                    saved.rings().stream().map(RingPlace::position).toList(), saved.config(), saved.state()), host);
        } catch (HandoverException e) {
            return e.getMessage();
        }
        List<VirtqueueRing> rings = new ArrayList<>();
        for (int q = 0; q < saved.rings().size(); q++) {
            RingPlace p = saved.rings().get(q);
            rings.add(new VirtqueueRing(memory, saved.name() + " queue " + q, p.address(), DevicePage.QUEUE_ENTRIES,
                    p.irq(), irq -> interruptLine.accept(irq), p.position()));
        }
        Attached a = new Attached(saved.name(), saved.type(), kind, device, List.copyOf(rings), saved.config());
        String mismatch = device == null ? "the device gave nothing" : shapeMismatch(a, device);
        if (mismatch != null) {
            if (device != null) {
                device.close();
            }
            return mismatch;
        }
        lock.lock();
        try {
            device.connect(List.<Virtqueue>copyOf(rings));
            attached.add(a);
        } finally {
            lock.unlock();
        }
        return null;
    }

    // ---- hand-over ----

    /**
     * Hands every device whose service is not in {@code bound} any more to a bound
     * service of the same type (the same name first), here and now, on the calling
     * thread, while the guest runs on. A device with no such service is parked (see
     * the opening story) until one is bound and this is called again, or keeps running
     * if it cannot be suspended; one whose hand-over fails keeps running, or stays
     * parked (logged, and said with --verbose). Waits at most {@code waitNanos} for a
     * device call under way to end. Returns how many devices have a new implementation.
     */
    int handOverUnbound(List<LauncherDevice> bound, DeviceHost host, long waitNanos) throws InterruptedException {
        if (!lock.tryLock(waitNanos, TimeUnit.NANOSECONDS)) {
            LOG.log(System.Logger.Level.WARNING, "a device call of the guest did not end in time: its devices keep"
                    + " their old implementations until the next change of services");
            return 0;
        }
        try {
            if (closed) {
                return 0;
            }
            int handed = 0;
            for (Attached a : attached) {
                if (a.kind() == null || bound.stream().anyMatch(k -> k == a.kind())) {
                    continue;
                }
                LauncherDevice successor = successorFor(a, bound);
                if (successor == null) {
                    if (!a.isParked()) {
                        park(a, host);
                    }
                    continue;
                }
                String problem = a.isParked() ? adopt(a, a.parked(), successor, host) : handOver(a, successor, host);
                if (problem == null) {
                    host.verbose("device " + a.name() + " handed over to a new implementation");
                    handed++;
                } else {
                    LOG.log(System.Logger.Level.WARNING, "the " + a.name() + " device was not handed over: "
                            + problem + (a.isParked() ? "; it stays parked" : "; the old device keeps running"));
                    host.verbose("device " + a.name() + " not handed over: " + problem);
                }
            }
            return handed;
        } finally {
            lock.unlock();
        }
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
     * Suspends and retires {@code a}, whose service is gone with no successor, while
     * its bundle still stops (its classes still load), and keeps its state.
     */
    private void park(Attached a, DeviceHost host) {
        int index = attached.indexOf(a);
        if (index < 0) {
            return;
        }
        DeviceState state;
        try {
            state = a.device().suspend();
        } catch (UnsupportedOperationException e) {
            LOG.log(System.Logger.Level.WARNING, "the " + a.name() + " device cannot be parked: " + e.getMessage()
                    + "; it keeps running without its service");
            return;
        } catch (RuntimeException | LinkageError e) {
            LOG.log(System.Logger.Level.ERROR, "device " + a.name() + " failed to suspend", e);
            resume(a);
            return;
        }
        if (state == null) {
            resume(a);
            return;
        }
        attached.set(index, new Attached(a.name(), a.type(), a.kind(), a.device(), a.rings(), a.config(), state));
        retire(a.device(), a.name());
        host.verbose("device " + a.name() + " parked until a new implementation is bound");
    }

    /** One hand-over; returns null once the new device runs, or why the old one still does. */
    private String handOver(Attached from, LauncherDevice to, DeviceHost host) {
        if (!attached.contains(from)) {
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
        String problem = adopt(from, state, to, host);
        if (problem != null) {
            resume(from);
            return problem;
        }
        retire(old, from.name());
        return null;
    }

    /**
     * The second half of a hand-over: {@code to} adopts {@code state} with the rings'
     * positions and the configuration, and takes {@code from}'s place on fresh rings.
     * Returns null once it does, or why not ({@code from} untouched). A device adopted
     * from a parked state is kicked at the next input service.
     */
    private String adopt(Attached from, DeviceState state, LauncherDevice to, DeviceHost host) {
        int index = attached.indexOf(from);
        if (index < 0) {
            return "the device was already replaced";
        }
        List<QueuePosition> positions = from.rings().stream().map(VirtqueueRing::position).toList();
        DeviceHandover handover = new DeviceHandover(from.type(), from.name(), positions, from.config(), state);
        GuestDevice next;
        try {
            next = to.adopt(handover, host);
        } catch (HandoverException e) {
            return e.getMessage();
        } catch (RuntimeException | LinkageError e) {
            LOG.log(System.Logger.Level.ERROR, "device " + from.name() + ": the new implementation failed to adopt it", e);
            return "the new implementation failed to adopt the device";
        }
        String mismatch = next == null ? "the new implementation gave no device" : shapeMismatch(from, next);
        if (mismatch != null) {
            if (next != null) {
                retire(next, from.name());
            }
            return mismatch;
        }
        List<VirtqueueRing> rings = from.rings().stream().map(VirtqueueRing::successor).toList();
        try {
            next.connect(List.<Virtqueue>copyOf(rings));
        } catch (RuntimeException | LinkageError e) {
            LOG.log(System.Logger.Level.ERROR, "device " + from.name() + ": the new implementation failed to connect", e);
            retire(next, from.name());
            return "the new implementation failed to connect to the rings";
        }
        from.rings().forEach(VirtqueueRing::retire);
        Attached adopted = new Attached(from.name(), from.type(), to, next, rings, from.config());
        attached.set(index, adopted);
        if (from.isParked()) {
            toKick.add(adopted);
            adoptedOrClosed.signalAll();
        }
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
        } catch (RuntimeException | LinkageError e) {
            LOG.log(System.Logger.Level.ERROR, "device " + a.name() + " failed to resume after a failed hand-over", e);
        }
    }

    private static void retire(GuestDevice d, String name) {
        try {
            d.retire();
        } catch (RuntimeException | LinkageError e) {
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
        } catch (RuntimeException | LinkageError e) {
            // Our bug, not the guest's words: the details go to the log, the guest's
            // reason stays plain. A LinkageError is a device whose bundle was updated
            // under it (its wiring gone, its next class unloadable): it kills this
            // guest plainly, never the guest's thread with an Error.
            LOG.log(System.Logger.Level.ERROR, "device " + a.name() + " failed", e);
            return "device " + a.name() + " failed in the Launcher";
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            adoptedOrClosed.signalAll();
            for (Attached a : attached) {
                try {
                    if (a.isParked()) {
                        // Its retired device let go of everything but what the state holds.
                        a.parked().release();
                    } else {
                        a.device().close();
                    }
                } catch (RuntimeException | LinkageError e) {
                    // Closing one device must not keep the others open.
                }
            }
        } finally {
            lock.unlock();
        }
    }
}
