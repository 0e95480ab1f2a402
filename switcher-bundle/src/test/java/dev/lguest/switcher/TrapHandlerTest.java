package dev.lguest.switcher;

import dev.lguest.api.cpu.X86;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.testing.StateOnlyCpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the switcher copies into the CPU when the guest changed its IDT: the vectors
 * that come back to the host, loaded into the CPU only when they change. Linux loads
 * its IDT one gate per hypercall, and each reload of the whole CPU state costs an exit
 * far more than the gate does.
 */
class TrapHandlerTest {
    private static final int TRAP_GATE = 0xc0108f00;
    private static final int SYSTEM_TRAP_GATE = 0xc010ef00;
    private static final int SYSCALL = 0x80;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment ram = arena.allocate(2 << 20);
    private final Guest guest = new Guest(new GuestMemory(ram), new PhysicalMemory(ram), 512, Thread.currentThread());
    private final GuestSlot slot = new GuestSlot(guest, SwitcherSettingsValue.DEFAULTS);
    /** The system call's gate goes straight to the guest while it is a present trap gate. */
    private final Fakes.RecordingTraps traps = new Fakes.RecordingTraps() {
        @Override
        public boolean isDirectTrap(Guest g, int vector) {
            return vector == SYSCALL && (g.traps.high(vector) & 0x8f00) == 0x8f00;
        }
    };
    private final StateOnlyCpu cpu = new StateOnlyCpu();

    @AfterEach
    void tearDown() {
        slot.pages.free(guest.bus);
        arena.close();
    }

    private void gate(int vector, int high) {
        guest.traps.set(vector, (0x60 << 16) | 0x1234, high);
    }

    @Test
    void aGateThatLeavesTheRoutingAsItIsDoesNotReloadTheCpu() {
        slot.pages = SwitcherPages.allocate(guest);
        gate(SYSCALL, SYSTEM_TRAP_GATE);
        TrapHandler.copyInGuestInfo(guest, slot, traps, cpu);
        assertEquals(1, cpu.loads, "the first routing is loaded");
        assertFalse(cpu.state.isHostVector(SYSCALL), "the system call goes straight to the guest");
        assertTrue(cpu.state.isHostVector(X86.PF_VECTOR));

        // The timer's gate, then the keyboard's: both still come to the host first.
        gate(0x20, TRAP_GATE);
        TrapHandler.copyInGuestInfo(guest, slot, traps, cpu);
        gate(0x21, TRAP_GATE);
        TrapHandler.copyInGuestInfo(guest, slot, traps, cpu);

        assertEquals(1, cpu.loads, "the CPU's routing was right already");
        assertFalse(guest.traps.changed);
    }

    @Test
    void aChangeOfRoutingOrOfCpuIsLoaded() {
        slot.pages = SwitcherPages.allocate(guest);
        gate(SYSCALL, SYSTEM_TRAP_GATE);
        TrapHandler.copyInGuestInfo(guest, slot, traps, cpu);

        // The system call's gate taken away: it comes to the host now.
        gate(SYSCALL, 0);
        TrapHandler.copyInGuestInfo(guest, slot, traps, cpu);
        assertEquals(2, cpu.loads);
        assertTrue(cpu.state.isHostVector(SYSCALL));

        // A debugger takes #DB and #BP, already the host's: nothing to load.
        slot.debugRouted = true;
        guest.traps.changed = true;
        TrapHandler.copyInGuestInfo(guest, slot, traps, cpu);
        assertEquals(2, cpu.loads);

        // Another CPU (a swap) has not been told, even with the same routing.
        gate(SYSCALL, SYSTEM_TRAP_GATE);
        TrapHandler.copyInGuestInfo(guest, slot, traps, cpu);
        assertEquals(3, cpu.loads);
        StateOnlyCpu next = new StateOnlyCpu();
        next.state.setHostVector(SYSCALL, true);
        guest.traps.changed = true;
        TrapHandler.copyInGuestInfo(guest, slot, traps, next);
        assertEquals(1, next.loads);
        assertFalse(next.state.isHostVector(SYSCALL));
    }
}
