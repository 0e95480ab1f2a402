package dev.lguest.launcher;

import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.Virtqueue;
import dev.lguest.api.launcher.VirtqueueFault;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.GuestMemoryFault;
import dev.lguest.api.memory.PhysicalMemory;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * The devices of one guest, once laid out: which ring a NOTIFY names, and the device
 * behind it. This is lguest.c's handle_output() and handle_input().
 *
 * A NOTIFY at or above the top of RAM names a virtqueue by its ring's first page
 * (Linux sends pfn << 12). The device serves it on the Launcher's thread; whatever
 * it throws ends up as the guest's cause of death, never as an exception out of the
 * Launcher: a VirtqueueFault is the guest's fault, anything else is the device's bug.
 */
final class GuestDevices implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(GuestDevices.class.getName());
    /** One attached device and its rings. */
    record Attached(String name, int type, GuestDevice device, List<VirtqueueRing> rings) {
    }

    private final GuestMemory memory;
    private final DevicePage page;
    private final List<Attached> attached = new ArrayList<>();
    private volatile IntConsumer interruptLine = irq -> {
    };

    GuestDevices(GuestMemory memory, GuestLayout layout) {
        this.memory = memory;
        this.page = new DevicePage(memory, layout);
    }

    /** Lays out {@code device} on the device page and hands it its rings. */
    Attached add(String name, int type, GuestDevice device) throws dev.lguest.api.launcher.BootException {
        List<DevicePage.QueuePlacement> placements =
                page.add(name, type, device.queueCount(), device.configFields());
        List<VirtqueueRing> rings = new ArrayList<>();
        for (int q = 0; q < placements.size(); q++) {
            DevicePage.QueuePlacement p = placements.get(q);
            rings.add(new VirtqueueRing(memory, name + " queue " + q, p.ringAddress(), DevicePage.QUEUE_ENTRIES,
                    p.irq(), irq -> interruptLine.accept(irq)));
        }
        device.connect(List.<Virtqueue>copyOf(rings));
        Attached a = new Attached(name, type, device, List.copyOf(rings));
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
        for (Attached a : attached) {
            try {
                a.device().close();
            } catch (RuntimeException e) {
                // Closing one device must not keep the others open.
            }
        }
    }
}
