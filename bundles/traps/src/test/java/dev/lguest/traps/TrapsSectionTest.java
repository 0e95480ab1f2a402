package dev.lguest.traps;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.snapshot.SectionReader;
import dev.lguest.api.snapshot.SectionWriter;
import dev.lguest.api.snapshot.SnapshotException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The traps' snapshot section: the IDT and stack come back through the guest's own checks, the clock re-based. */
class TrapsSectionTest {
    private static final int INTERRUPT_GATE_HIGH = 0xc0108e00;
    private final Arena arena = Arena.ofConfined();
    private final GuestTraps traps = new GuestTraps();
    private final TrapsSection section = new TrapsSection();

    TrapsSectionTest() {
        traps.setPageTables(new FakeMmu());
        traps.setSegmentManager(new FakeSegments());
        section.traps = traps;
    }

    @AfterEach
    void free() {
        arena.close();
    }

    private Guest guest() {
        var ram = arena.allocate(64 * 4096L, 4096);
        return new Guest(new GuestMemory(ram), new PhysicalMemory(ram), 64, Thread.currentThread());
    }

    private byte[] save(Guest g) {
        SectionWriter out = new SectionWriter();
        section.save(g, out);
        return out.toByteArray();
    }

    @Test
    void theIdtStackInterruptsAndClockComeBack() throws Exception {
        Guest saved = guest();
        traps.loadIdtEntry(saved, 0x20, 0x00601234, INTERRUPT_GATE_HIGH);
        traps.setStack(saved, 0x69, 0xc0300000, 2);
        saved.raiseIrq(3);
        saved.clockDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        byte[] payload = save(saved);

        Guest restored = guest();
        long before = System.nanoTime();
        section.restore(restored, TrapsSection.VERSION, new SectionReader("traps", payload));
        assertEquals(saved.traps.low(0x20), restored.traps.low(0x20));
        assertEquals(saved.traps.high(0x20), restored.traps.high(0x20));
        assertEquals(0xc0300000, restored.traps.esp1);
        assertEquals(1 << 3, restored.pendingIrqs());
        long left = restored.clockDeadline - before;
        // Counted from the restore, in this process's clock: no earlier, and no later than it had left.
        assertTrue(left > TimeUnit.SECONDS.toNanos(4) && left <= TimeUnit.SECONDS.toNanos(5) + (System.nanoTime() - before),
                "deadline " + left + " ns after the restore");
    }

    @Test
    void aStoppedClockStaysStopped() throws Exception {
        Guest saved = guest();
        byte[] payload = save(saved);
        Guest restored = guest();
        section.restore(restored, TrapsSection.VERSION, new SectionReader("traps", payload));
        assertEquals(0, restored.clockDeadline);
    }

    @Test
    void anIdtEntryTheGuestCouldNotHaveLoadedIsRefused() throws Exception {
        Guest saved = guest();
        saved.traps.set(0x21, 0x00601234, 0xc0108c00); // a call gate, which LOAD_IDT_ENTRY refuses
        byte[] payload = save(saved);
        String message = assertThrows(SnapshotException.class,
                () -> section.restore(guest(), TrapsSection.VERSION, new SectionReader("traps", payload))).getMessage();
        assertTrue(message.contains("bad IDT type"), message);
    }
}
