package dev.lguest.launcher;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.snapshot.GuestStateSection;
import dev.lguest.api.snapshot.SectionReader;
import dev.lguest.api.snapshot.SectionWriter;
import dev.lguest.api.snapshot.SnapshotException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The page directory a restore starts the guest on (LHREQ_INITIALIZE's). The MMU judges
 * that directory as it takes it, and refuses one with anything in the switcher's slot;
 * the Launcher's boot directory is free memory once the guest runs its own tables, so a
 * restore naming it refused a sound guest whenever the guest had reused that page for
 * something with a word at its top (a live migration failed so, now and then).
 */
class GuestImageTest {
    private static final long MEM = 4 << 20;
    private static final int BOOT_PGDIR = 0x3f0000;
    private static final int RUNNING_PGDIR = 0x123000;

    private final GuestLayout layout = new GuestLayout(MEM);
    private final MemorySegment ram = Arena.ofAuto().allocate(layout.totalBytes(), PhysicalMemory.PAGE_SIZE);
    private final GuestMemory memory = new GuestMemory(ram);
    private final Guest guest = new Guest(memory, new PhysicalMemory(ram), (int) (MEM >> 12), Thread.currentThread());

    /** One empty section for each component a snapshot must have. */
    private static List<GuestStateSection> emptySections() {
        return GuestImage.COMPONENTS.keySet().stream().<GuestStateSection>map(name -> new GuestStateSection() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public int version() {
                return 1;
            }

            @Override
            public void save(Guest g, SectionWriter out) {
            }

            @Override
            public void restore(Guest g, int version, SectionReader in) {
            }
        }).toList();
    }

    private GuestImage.Plan captureAndPlan() throws SnapshotException {
        List<GuestStateSection> sections = emptySections();
        GuestImage.Capture capture = GuestImage.capture(guest, null, layout, BOOT_PGDIR, 0x100000,
                new GuestDevices(memory, layout), sections, "test");
        return GuestImage.plan(capture.contents(), sections, List.of());
    }

    @Test
    void aRestoreStartsOnTheDirectoryTheGuestRanOnNotTheBootOne() throws SnapshotException {
        // The guest runs its own directory; the boot one's page now holds its data, a
        // word in the switcher's slot among it.
        guest.paging.guestPgdir = RUNNING_PGDIR;
        memory.write32(BOOT_PGDIR + 4L * 1023, 0x00abc067);

        assertEquals(RUNNING_PGDIR, captureAndPlan().initializePgdir());
    }

    @Test
    void aGuestThatNeverRanStartsOnTheBootDirectory() throws SnapshotException {
        guest.paging.guestPgdir = 0;

        assertEquals(BOOT_PGDIR, captureAndPlan().initializePgdir());
    }
}
