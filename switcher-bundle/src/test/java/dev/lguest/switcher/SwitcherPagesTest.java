package dev.lguest.switcher;

import dev.lguest.api.cpu.X86;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The IDT the CPU really uses while a guest runs: host gates everywhere but the
 * direct traps, and host gates that let the guest's own "int3" through.
 */
class SwitcherPagesTest {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Linux's gates: a DPL 3 interrupt gate (int3), a DPL 0 trap gate, a DPL 3 trap gate. */
    private static final int SYSTEM_INTERRUPT_GATE = 0xc010ee00;
    private static final int TRAP_GATE = 0xc0108f00;
    private static final int SYSTEM_TRAP_GATE = 0xc010ef00;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment ram = arena.allocate(2 << 20);
    private final Guest guest = new Guest(new GuestMemory(ram), new PhysicalMemory(ram), 512, Thread.currentThread());

    @AfterEach
    void tearDown() {
        arena.close();
    }

    private int gateDpl(SwitcherPages pages, int vector) {
        int high = guest.bus.page(pages.idtFrame).get(U32, vector * 8L + 4);
        return (high >>> 13) & 3;
    }

    @Test
    void hostGatesTakeTheDplOfTheGuestsSoftwareInterruptGates() {
        SwitcherPages pages = SwitcherPages.allocate(guest);
        guest.traps.set(X86.BP, (0x60 << 16) | 0x1234, SYSTEM_INTERRUPT_GATE);
        guest.traps.set(X86.OF_VECTOR, (0x60 << 16) | 0x1238, SYSTEM_TRAP_GATE);
        guest.traps.set(X86.UD, (0x60 << 16) | 0x123c, TRAP_GATE);
        // Nobody may "int $14", "int $13" or "int $7" into the host, whatever the guest says.
        guest.traps.set(X86.PF_VECTOR, (0x60 << 16) | 0x1240, SYSTEM_TRAP_GATE);
        guest.traps.set(X86.GP, (0x60 << 16) | 0x1244, SYSTEM_TRAP_GATE);
        guest.traps.set(X86.NM, (0x60 << 16) | 0x1248, SYSTEM_TRAP_GATE);
        guest.traps.set(0x21, (0x60 << 16) | 0x124c, SYSTEM_TRAP_GATE);

        pages.copyIdt(guest, new boolean[Lguest.IDT_ENTRIES]);

        assertEquals(3, gateDpl(pages, X86.BP), "int3 from the guest reaches the host as vector 3");
        assertEquals(3, gateDpl(pages, X86.OF_VECTOR));
        assertEquals(0, gateDpl(pages, X86.UD));
        assertEquals(0, gateDpl(pages, X86.DE), "no guest gate: DPL 0");
        assertEquals(0, gateDpl(pages, X86.PF_VECTOR));
        assertEquals(0, gateDpl(pages, X86.GP));
        assertEquals(0, gateDpl(pages, X86.NM));
        assertEquals(0, gateDpl(pages, 0x21));
        assertEquals(Lguest.GUEST_PL, gateDpl(pages, Lguest.TRAP_ENTRY));
        pages.free(guest.bus);
    }
}
