package dev.lguest.hypercalls;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.guest.LguestData;
import dev.lguest.api.hypercalls.HypercallHandler;
import dev.lguest.api.snapshot.GuestStateSection;
import dev.lguest.api.snapshot.SectionReader;
import dev.lguest.api.snapshot.SectionWriter;
import dev.lguest.api.snapshot.SnapshotException;
import org.osgi.service.component.annotations.Component;

/**
 * The hypercalls' part of a snapshot: what LGUEST_INIT took from lguest_data (where it
 * is, the no-interrupt range, the kernel's start, the system call vector), where the
 * asynchronous ring is read next, and a hypercall or NOTIFY caught but not yet done.
 * lguest_data itself is guest memory and comes back with it; a restore refuses what
 * LGUEST_INIT would (lguest_data outside the guest, a kernel address in the
 * switcher's slot, another system call vector) and a ring position outside the ring.
 */
@Component(service = GuestStateSection.class)
public final class HypercallsSection implements GuestStateSection {
    static final int VERSION = 1;

    @Override
    public String name() {
        return HypercallHandler.class.getName();
    }

    @Override
    public int version() {
        return VERSION;
    }

    @Override
    public void save(Guest guest, SectionWriter out) {
        out.writeInt(guest.lguestData).writeInt(guest.noirqStart).writeInt(guest.noirqEnd)
                .writeInt(guest.kernelAddress).writeInt(guest.syscallVector).writeInt(guest.nextHypercall)
                .writeBoolean(guest.hypercallPending).writeInt(guest.pendingNotify);
    }

    @Override
    public void restore(Guest guest, int version, SectionReader in) throws SnapshotException {
        int lguestData = in.readInt();
        int noirqStart = in.readInt();
        int noirqEnd = in.readInt();
        int kernelAddress = in.readInt();
        int syscallVector = in.readInt();
        int nextHypercall = in.readInt();
        boolean hypercallPending = in.readBoolean();
        int pendingNotify = in.readInt();
        in.expectEnd();
        if (lguestData != 0 && !GuestHypercalls.guestRangeOk(guest, Integer.toUnsignedLong(lguestData),
                LguestData.SIZE)) {
            throw new SnapshotException(String.format("section %s puts lguest_data at %#x, outside the guest",
                    name(), Integer.toUnsignedLong(lguestData)));
        }
        // What LGUEST_INIT would have refused.
        if ((kernelAddress >>> 22) >= Lguest.SWITCHER_PGD_INDEX) {
            throw new SnapshotException(String.format("section %s: bad kernel address %#x", name(),
                    Integer.toUnsignedLong(kernelAddress)));
        }
        if (lguestData != 0 && syscallVector != Lguest.SYSCALL_VECTOR) {
            throw new SnapshotException("section " + name() + ": bad syscall vector " + syscallVector);
        }
        if (nextHypercall < 0 || nextHypercall >= LguestData.HCALL_RING) {
            throw new SnapshotException("section " + name() + " reads the hypercall ring at " + nextHypercall);
        }
        guest.lguestData = lguestData;
        guest.noirqStart = noirqStart;
        guest.noirqEnd = noirqEnd;
        guest.kernelAddress = kernelAddress;
        guest.syscallVector = syscallVector;
        guest.nextHypercall = nextHypercall;
        guest.hypercallPending = hypercallPending;
        guest.pendingNotify = pendingNotify;
    }
}
