package dev.lguest.segments;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.segments.SegmentState;
import dev.lguest.api.snapshot.GuestStateSection;
import dev.lguest.api.snapshot.SectionReader;
import dev.lguest.api.snapshot.SectionWriter;
import dev.lguest.api.snapshot.SnapshotException;
import org.osgi.service.component.annotations.Component;

/**
 * The segments' part of a snapshot: the guest's GDT. A restore puts every entry
 * through the same fix-up as a LOAD_GDT from the guest, and never touches the host's
 * slots (the TSS and the switcher's own segments), which keep what the new host set up.
 */
@Component(service = GuestStateSection.class)
public final class SegmentsSection implements GuestStateSection {
    static final int VERSION = 1;

    @Override
    public String name() {
        return SegmentManager.class.getName();
    }

    @Override
    public int version() {
        return VERSION;
    }

    @Override
    public void save(Guest guest, SectionWriter out) {
        out.writeInts(guest.segments.gdt.clone());
    }

    @Override
    public void restore(Guest guest, int version, SectionReader in) throws SnapshotException {
        int[] gdt = in.readInts(Lguest.GDT_ENTRIES * 2);
        in.expectEnd();
        SegmentState state = guest.segments;
        for (int entry = 0; entry < Lguest.GDT_ENTRIES; entry++) {
            if (!GuestSegments.isHostSlot(entry)) {
                state.set(entry, gdt[2 * entry], GuestSegments.fixUpHigh(gdt[2 * entry + 1]));
            }
        }
        state.changed = true;
    }
}
