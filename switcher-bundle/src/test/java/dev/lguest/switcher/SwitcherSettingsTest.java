package dev.lguest.switcher;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.GuestStatistics.Exit;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The switcher's configuration as the run loop reads it, and how exits are classified. */
class SwitcherSettingsTest {
    @Test
    void configurationValuesAreBroughtIntoRange() {
        SwitcherSettingsValue v = SwitcherSettingsValue.of(10, 250, new String[] {"page_fault", " HALT ", "nonsense"});
        assertEquals(RunLoop.MIN_SLICE, v.sliceInstructions(), "a slice below the minimum");
        assertEquals(250_000, v.clockMinPeriodNanos());
        assertTrue(v.logs(Exit.PAGE_FAULT) && v.logs(Exit.HALT));
        assertFalse(v.logs(Exit.HYPERCALL));
        assertTrue(SwitcherSettingsValue.of(5000, 0, new String[] {"ALL"}).logs(Exit.NOTIFY));
        assertEquals(0, SwitcherSettingsValue.DEFAULTS.loggedExits());
        assertEquals(RunLoop.SLICE, SwitcherSettingsValue.DEFAULTS.sliceInstructions());
    }

    @Test
    void aConfiguredSliceIsTheBudgetWithoutAClockDeadline() {
        try (Arena arena = Arena.ofConfined()) {
            var ram = arena.allocate(1 << 20);
            Guest guest = new Guest(new GuestMemory(ram), new PhysicalMemory(ram), 256, Thread.currentThread());
            assertEquals(10_000, RunLoop.sliceUntilClock(guest, 10_000));
            guest.clockDeadline = System.nanoTime() + 1_000_000_000L;
            assertEquals(10_000, RunLoop.sliceUntilClock(guest, 10_000), "a far deadline");
        }
    }

    @Test
    void exitsAreCountedByKind() {
        assertEquals(Exit.PAGE_FAULT, TrapHandler.kindOf(new CpuExit(ExitReason.VECTOR, X86.PF_VECTOR, 2, 1)));
        assertEquals(Exit.GENERAL_PROTECTION, TrapHandler.kindOf(new CpuExit(ExitReason.VECTOR, X86.GP, 0, 1)));
        assertEquals(Exit.HOST_INTERRUPT, TrapHandler.kindOf(
                new CpuExit(ExitReason.VECTOR, Lguest.FIRST_EXTERNAL_VECTOR, 0, 1)));
        assertEquals(Exit.OTHER_TRAP, TrapHandler.kindOf(new CpuExit(ExitReason.VECTOR, X86.UD, 0, 1)));
        assertEquals(Exit.BUDGET, TrapHandler.kindOf(new CpuExit(ExitReason.BUDGET, 0, 0, 1)));
        assertNull(TrapHandler.kindOf(new CpuExit(ExitReason.VECTOR, Lguest.TRAP_ENTRY, 0, 1)),
                "int 0x1f counts as HYPERCALL when the hypercall is done");
        assertNull(TrapHandler.kindOf(new CpuExit(ExitReason.SHUTDOWN, 0, 0, 1)));
    }
}
