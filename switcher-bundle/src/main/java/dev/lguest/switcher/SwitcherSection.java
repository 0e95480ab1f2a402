package dev.lguest.switcher;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.snapshot.GuestStateSection;
import dev.lguest.api.snapshot.SectionReader;
import dev.lguest.api.snapshot.SectionWriter;
import dev.lguest.api.snapshot.SnapshotException;
import dev.lguest.api.switcher.Switcher;
import org.osgi.service.component.annotations.Component;

/**
 * The run loop's part of a snapshot: whether the guest sleeps in HALT, its lazy-FPU
 * TS, and the address of its last page fault. The switcher's pages (its GDT, IDT and
 * TSS copies) are rebuilt from the guest's tables by the new host and not saved.
 */
@Component(service = GuestStateSection.class)
public final class SwitcherSection implements GuestStateSection {
    static final int VERSION = 1;

    @Override
    public String name() {
        return Switcher.class.getName();
    }

    @Override
    public int version() {
        return VERSION;
    }

    @Override
    public void save(Guest guest, SectionWriter out) {
        out.writeBoolean(guest.halted).writeBoolean(guest.taskSwitched).writeInt(guest.lastPageFault);
    }

    @Override
    public void restore(Guest guest, int version, SectionReader in) throws SnapshotException {
        boolean halted = in.readBoolean();
        boolean taskSwitched = in.readBoolean();
        int lastPageFault = in.readInt();
        in.expectEnd();
        guest.halted = halted;
        guest.taskSwitched = taskSwitched;
        guest.lastPageFault = lastPageFault;
    }
}
