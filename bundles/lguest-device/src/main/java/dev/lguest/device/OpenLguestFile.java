package dev.lguest.device;

import dev.lguest.api.device.Errno;
import dev.lguest.api.device.LguestFile;
import dev.lguest.api.device.LguestRequest;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.service.ServiceSlot;
import dev.lguest.api.switcher.Switcher;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * One open /dev/lguest, in the order lguest_user.c does things.
 *
 * The first write must be LHREQ_INITIALIZE with the guest's memory layout; it
 * creates the guest, owned by the writing thread. After that the owner writes
 * LHREQ_IRQ to raise interrupts and reads to run the guest; anyone may write
 * LHREQ_BREAK to pop the guest out for the Launcher (the Waker's job). Once the guest
 * is dead, writes fail with ENOENT and a read returns the reason it died.
 *
 * Every word is a 32-bit little-endian unsigned long, as on an i386 host. The calls
 * return what the syscalls would: a byte count or a negative errno.
 */
final class OpenLguestFile implements LguestFile {
    /** lguest's "big lguest lock": initializations do not race each other. */
    private static final Object INITIALIZE_LOCK = new Object();
    private static final long SERVICE_WAIT_SECONDS = 30;
    /** How long an LHREQ_BREAK "on" waits for "off" before giving up. */
    private static final long BREAK_WAIT_SECONDS = 3600;
    private static final System.Logger LOG = System.getLogger(OpenLguestFile.class.getName());

    private final MemorySegment launcherMemory;
    private final ServiceSlot<Switcher> switcher;
    private final java.util.function.Consumer<OpenLguestFile> onClose;
    private volatile Guest guest;
    private volatile boolean closed;
    /** The implementation behind this file went away: every call now answers ENODEV. */
    private volatile boolean detached;

    OpenLguestFile(MemorySegment launcherMemory, ServiceSlot<Switcher> switcher,
                   java.util.function.Consumer<OpenLguestFile> onClose) {
        this.launcherMemory = launcherMemory;
        this.switcher = switcher;
        this.onClose = onClose;
    }

    /** A file for a guest another implementation of the device created. */
    static OpenLguestFile adopting(Guest guest, ServiceSlot<Switcher> switcher,
                                   java.util.function.Consumer<OpenLguestFile> onClose) {
        OpenLguestFile file = new OpenLguestFile(null, switcher, onClose);
        file.guest = guest;
        return file;
    }

    /** The device implementation is going away; see {@link dev.lguest.api.device.LguestDevice#adopt}. */
    void detach() {
        detached = true;
    }

    @Override
    public Guest guest() {
        return guest;
    }

    @Override
    public long write(ByteBuffer request) {
        if (detached) {
            return -Errno.ENODEV;
        }
        ByteBuffer in = request.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() < 4) {
            return -Errno.EFAULT;
        }
        int req = in.getInt();
        Guest g = guest;
        if (req != LguestRequest.INITIALIZE && g == null) {
            return -Errno.EINVAL;
        }
        if (g != null && g.isDead()) {
            return -Errno.ENOENT;
        }
        if (g != null && Thread.currentThread() != g.owner && req != LguestRequest.BREAK) {
            return -Errno.EPERM;
        }
        return switch (req) {
            case LguestRequest.INITIALIZE -> initialize(in);
            case LguestRequest.IRQ -> sendIrq(g, in);
            case LguestRequest.BREAK -> breakGuestOut(g, in);
            default -> -Errno.EINVAL;
        };
    }

    /**
     * INITIALIZE: base (where guest-physical 0 lies in the Launcher's memory),
     * pfnlimit (the guest may reach frames below it), pgdir (the Launcher's initial
     * page tables) and start (the first eip).
     */
    private long initialize(ByteBuffer in) {
        synchronized (INITIALIZE_LOCK) {
            if (guest != null || launcherMemory == null) {
                return -Errno.EBUSY;
            }
            if (in.remaining() < 16) {
                return -Errno.EFAULT;
            }
            long base = Integer.toUnsignedLong(in.getInt());
            long pfnLimit = Integer.toUnsignedLong(in.getInt());
            int pgdir = in.getInt();
            int start = in.getInt();
            // The guest's memory must lie inside the Launcher's: a base or a limit
            // pointing past it would hand the guest memory that is not there.
            long bytes = pfnLimit << PhysicalMemory.PAGE_SHIFT;
            if (base > launcherMemory.byteSize() || bytes > launcherMemory.byteSize() - base
                    || bytes >= PhysicalMemory.HOST_BASE) {
                return -Errno.EFAULT;
            }
            Switcher s = awaitSwitcher();
            if (s == null) {
                return -Errno.EIO;
            }
            MemorySegment window = launcherMemory.asSlice(base, bytes);
            Guest g = new Guest(new GuestMemory(window), new PhysicalMemory(window), (int) pfnLimit,
                    Thread.currentThread());
            try {
                s.initialize(g, pgdir, start);
            } catch (RuntimeException bug) {
                // The guest exists and is ours: it dies, and the next read says why.
                LOG.log(System.Logger.Level.ERROR, "the switcher failed setting up guest " + g.id(), bug);
                g.kill("host failure while setting the guest up");
            }
            guest = g;
            return 16;
        }
    }

    /** IRQ: mark an interrupt pending; the guest takes it the next time it can. */
    private static long sendIrq(Guest g, ByteBuffer in) {
        if (in.remaining() < 4) {
            return -Errno.EFAULT;
        }
        long irq = Integer.toUnsignedLong(in.getInt());
        if (irq >= dev.lguest.api.guest.Lguest.IRQS) {
            return -Errno.EINVAL;
        }
        g.raiseIrq((int) irq);
        return 0;
    }

    /** BREAK on: pop the guest out and wait until the Launcher says off. */
    private static long breakGuestOut(Guest g, ByteBuffer in) {
        if (in.remaining() < 4) {
            return -Errno.EFAULT;
        }
        if (in.getInt() != 0) {
            try {
                g.breakOut(BREAK_WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -Errno.EINTR;
            }
        } else {
            g.clearBreak();
        }
        return 0;
    }

    @Override
    public long read(ByteBuffer into) {
        if (detached) {
            return -Errno.ENODEV;
        }
        Guest g = guest;
        if (g == null) {
            return -Errno.EINVAL;
        }
        if (Thread.currentThread() != g.owner) {
            return -Errno.EPERM;
        }
        if (g.isDead()) {
            byte[] reason = (g.deadReason() + "\0").getBytes(StandardCharsets.UTF_8);
            int len = Math.min(into.remaining(), reason.length);
            into.put(reason, 0, len);
            return len;
        }
        // A notify was handed out by the last read: the Launcher has seen it.
        g.pendingNotify = 0;
        long result = Switcher.HANDED_OVER;
        Switcher previous = null;
        while (result == Switcher.HANDED_OVER) {
            // The device went away while the switcher did: this file's switcher slot
            // is retired and may hold the switcher that just handed the guest back.
            // The guest is parked whole; the Launcher takes it to the next device.
            if (detached || switcher.isRetired()) {
                return -Errno.ENODEV;
            }
            Switcher s = awaitSwitcher();
            if (s == null && detached) {
                return -Errno.ENODEV;
            }
            if (s == null) {
                g.kill("no switcher is available to run the guest");
                return -Errno.ENOENT;
            }
            if (s == previous) {
                // The switcher retiring under us is still the bound one for a moment:
                // give the framework a moment to bind its successor.
                Thread.onSpinWait();
                Thread.yield();
            }
            previous = s;
            try {
                result = s.run(g);
            } catch (RuntimeException bug) {
                // A switcher must never throw for anything a guest did, but if one does,
                // lguest's contract still holds: the read says the guest is dead, and
                // the next one gives a reason, not a Java exception.
                LOG.log(System.Logger.Level.ERROR, "the switcher failed running guest " + g.id(), bug);
                g.kill("host failure while running the guest");
                return -Errno.ENOENT;
            }
        }
        if (result < 0) {
            return result;
        }
        if (into.remaining() < 4) {
            return -Errno.EFAULT;
        }
        into.order(ByteOrder.LITTLE_ENDIAN).putInt((int) result);
        return 4;
    }

    private Switcher awaitSwitcher() {
        try {
            return switcher.await(SERVICE_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /**
     * Closing the file ends its guest, as closing /dev/lguest does, unless the file was
     * detached: then the guest lives on in the file that adopted it.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        onClose.accept(this);
        if (detached) {
            return;
        }
        Guest g = guest;
        if (g != null) {
            g.kill("the Launcher closed /dev/lguest");
            Switcher s = switcher.get();
            if (s != null) {
                s.release(g);
            }
            g.bus.close();
        }
    }
}
