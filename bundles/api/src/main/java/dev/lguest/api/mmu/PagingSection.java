package dev.lguest.api.mmu;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.snapshot.GuestStateSection;
import dev.lguest.api.snapshot.SectionReader;
import dev.lguest.api.snapshot.SectionWriter;
import dev.lguest.api.snapshot.SnapshotException;

/**
 * The MMU's part of a snapshot: the guest's page directory, nothing more. The shadow
 * tables are a cache of the guest's own tables (which are guest memory, and come back
 * with it): they are not saved, and a restored guest's MMU starts empty and fills on
 * demand, as after a swap of the MMU's bundle. A restore is the guest's own
 * NEW_PGTABLE, so a directory the guest could not have given is refused the same way.
 *
 * Every MMU saves the same thing, so the section is written once, here; each MMU bundle
 * registers it as a component of its own with its own tables ({@link #mmu()}), so that
 * a build with either MMU can save and restore.
 */
public abstract class PagingSection implements GuestStateSection {
    public static final int VERSION = 1;

    /** The shadow page tables a restored directory is handed to. */
    protected abstract ShadowPageTables mmu();

    @Override
    public final String name() {
        return ShadowPageTables.class.getName();
    }

    @Override
    public final int version() {
        return VERSION;
    }

    @Override
    public final void save(Guest guest, SectionWriter out) {
        out.writeInt(guest.paging.guestPgdir);
    }

    @Override
    public final void restore(Guest guest, int version, SectionReader in) throws SnapshotException {
        int pgdir = in.readInt();
        in.expectEnd();
        if ((pgdir & 0xfff) != 0 || !guest.memory.contains(Integer.toUnsignedLong(pgdir), 4096)) {
            throw new SnapshotException(String.format("section %s: page directory %#x is not a page of the guest",
                    name(), Integer.toUnsignedLong(pgdir)));
        }
        mmu().newPageTable(guest, pgdir);
        if (guest.isDead()) {
            throw new SnapshotException("section " + name() + " is refused: " + guest.deadReason());
        }
    }
}
