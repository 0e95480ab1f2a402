package dev.lguest.traps;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.snapshot.GuestStateSection;
import dev.lguest.api.snapshot.SectionReader;
import dev.lguest.api.snapshot.SectionWriter;
import dev.lguest.api.snapshot.SnapshotException;
import dev.lguest.api.traps.TrapDelivery;
import dev.lguest.api.traps.TrapState;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The traps' part of a snapshot: the guest's IDT as it loaded it, its kernel stack
 * (SET_STACK), the interrupts pending, and the clock.
 *
 * A restore replays the guest's own calls (LOAD_IDT_ENTRY for every vector, SET_STACK)
 * through the trap service, so a snapshot can set nothing the guest could not have
 * set itself, and the stack is pinned in the new shadow tables as it was in the old.
 * The clock's deadline is kept as the time it had left: System.nanoTime() has no
 * meaning in another process, so the new deadline counts from the restore, and the
 * guest's timer fires no earlier, relative to the guest, than it would have.
 */
@Component(service = GuestStateSection.class)
public final class TrapsSection implements GuestStateSection {
    static final int VERSION = 1;

    @Reference
    TrapDelivery traps;

    @Override
    public String name() {
        return TrapDelivery.class.getName();
    }

    @Override
    public int version() {
        return VERSION;
    }

    @Override
    public void save(Guest guest, SectionWriter out) {
        TrapState state = guest.traps;
        out.writeInts(state.idt.clone());
        out.writeInt(state.ss1).writeInt(state.esp1).writeInt(state.stackPages);
        out.writeInt(guest.pendingIrqs());
        long deadline = guest.clockDeadline;
        out.writeLong(deadline == 0 ? 0 : Math.max(1, deadline - System.nanoTime()));
    }

    @Override
    public void restore(Guest guest, int version, SectionReader in) throws SnapshotException {
        int[] idt = in.readInts(Lguest.IDT_ENTRIES * 2);
        int ss1 = in.readInt();
        int esp1 = in.readInt();
        int stackPages = in.readInt();
        int irqs = in.readInt();
        long clockLeft = in.readLong();
        in.expectEnd();
        if (clockLeft < 0) {
            throw new SnapshotException("section " + name() + ": the clock has " + clockLeft + " ns left");
        }
        for (int vector = 0; vector < Lguest.IDT_ENTRIES; vector++) {
            traps.loadIdtEntry(guest, vector, idt[vector * 2], idt[vector * 2 + 1]);
        }
        if (ss1 != 0 || esp1 != 0 || stackPages != 0) {
            traps.setStack(guest, ss1, esp1, stackPages);
        }
        if (guest.isDead()) {
            throw new SnapshotException("section " + name() + " is refused: " + guest.deadReason());
        }
        for (int irq = 0; irq < Integer.SIZE; irq++) {
            if ((irqs & (1 << irq)) != 0) {
                guest.raiseIrq(irq);
            }
        }
        traps.setClockEvent(guest, clockLeft);
    }
}
