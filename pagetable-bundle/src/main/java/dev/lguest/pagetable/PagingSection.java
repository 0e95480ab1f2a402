package dev.lguest.pagetable;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.snapshot.GuestStateSection;
import dev.lguest.api.snapshot.SectionReader;
import dev.lguest.api.snapshot.SectionWriter;
import dev.lguest.api.snapshot.SnapshotException;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The MMU's part of a snapshot: the guest's page directory, nothing more. The shadow
 * tables are a cache of the guest's own tables (which are guest memory, and come back
 * with it): they are not saved, and a restored guest's MMU starts empty and fills on
 * demand, as after a swap of this bundle. A restore is the guest's own NEW_PGTABLE, so
 * a directory the guest could not have given is refused the same way.
 */
@Component(service = GuestStateSection.class)
public final class PagingSection implements GuestStateSection {
    static final int VERSION = 1;

    @Reference
    private ShadowPageTables mmu;

    @Override
    public String name() {
        return ShadowPageTables.class.getName();
    }

    @Override
    public int version() {
        return VERSION;
    }

    @Override
    public void save(Guest guest, SectionWriter out) {
        out.writeInt(guest.paging.guestPgdir);
    }

    @Override
    public void restore(Guest guest, int version, SectionReader in) throws SnapshotException {
        int pgdir = in.readInt();
        in.expectEnd();
        if ((pgdir & 0xfff) != 0 || !guest.memory.contains(Integer.toUnsignedLong(pgdir), 4096)) {
            throw new SnapshotException(String.format("section %s: page directory %#x is not a page of the guest",
                    name(), Integer.toUnsignedLong(pgdir)));
        }
        mmu.newPageTable(guest, pgdir);
        if (guest.isDead()) {
            throw new SnapshotException("section " + name() + " is refused: " + guest.deadReason());
        }
    }
}
