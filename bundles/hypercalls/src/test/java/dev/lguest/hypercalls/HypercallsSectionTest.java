package dev.lguest.hypercalls;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.snapshot.SectionReader;
import dev.lguest.api.snapshot.SectionWriter;
import dev.lguest.api.snapshot.SnapshotException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hypercalls' snapshot section: LGUEST_INIT's state comes back, and what LGUEST_INIT refuses is refused. */
class HypercallsSectionTest {
    private final Arena arena = Arena.ofConfined();
    private final HypercallsSection section = new HypercallsSection();

    @AfterEach
    void free() {
        arena.close();
    }

    private Guest guest() {
        var ram = arena.allocate(64 * 4096L, 4096);
        return new Guest(new GuestMemory(ram), new PhysicalMemory(ram), 64, Thread.currentThread());
    }

    private Guest initialized() {
        Guest g = guest();
        g.lguestData = 0x3000;
        g.syscallVector = Lguest.SYSCALL_VECTOR;
        g.kernelAddress = 0xc0000000;
        g.noirqStart = 0xc0101000;
        g.noirqEnd = 0xc0101010;
        g.nextHypercall = 17;
        g.pendingNotify = 0x4000;
        return g;
    }

    private byte[] save(Guest g) {
        SectionWriter out = new SectionWriter();
        section.save(g, out);
        return out.toByteArray();
    }

    @Test
    void lguestInitsStateComesBack() throws Exception {
        Guest saved = initialized();
        Guest restored = guest();
        section.restore(restored, HypercallsSection.VERSION, new SectionReader("h", save(saved)));
        assertEquals(0x3000, restored.lguestData);
        assertEquals(0xc0101000, restored.noirqStart);
        assertEquals(0xc0101010, restored.noirqEnd);
        assertEquals(17, restored.nextHypercall);
        assertEquals(0x4000, restored.pendingNotify);
    }

    @Test
    void whatLguestInitRefusesIsRefused() {
        Guest outside = initialized();
        outside.lguestData = 64 * 4096;
        Guest kernelInSwitcherSlot = initialized();
        kernelInSwitcherSlot.kernelAddress = Lguest.SWITCHER_PGD_INDEX << 22;
        Guest otherSyscall = initialized();
        otherSyscall.syscallVector = 0x81;
        Guest ringPastItsEnd = initialized();
        ringPastItsEnd.nextHypercall = 64;
        for (Guest bad : new Guest[] {outside, kernelInSwitcherSlot, otherSyscall, ringPastItsEnd}) {
            byte[] payload = save(bad);
            Guest restored = guest();
            String message = assertThrows(SnapshotException.class,
                    () -> section.restore(restored, HypercallsSection.VERSION, new SectionReader("h", payload)))
                    .getMessage();
            assertTrue(message.startsWith("section dev.lguest.api.hypercalls.HypercallHandler"), message);
            assertEquals(0, restored.lguestData, "nothing is taken from a refused section");
        }
    }
}
