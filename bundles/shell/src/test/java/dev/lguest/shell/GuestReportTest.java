package dev.lguest.shell;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.GuestStatistics.Exit;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GuestReportTest {
    private final MemorySegment ram = Arena.ofAuto().allocate(4096);

    private Guest guest() {
        return new Guest(new GuestMemory(ram), new PhysicalMemory(ram), 1, Thread.currentThread());
    }

    @Test
    void listShowsStateAndExits() {
        Guest g = guest();
        g.statistics.countExit(Exit.HYPERCALL);
        g.statistics.countExit(Exit.HYPERCALL);
        g.statistics.countExit(Exit.PAGE_FAULT);
        g.statistics.addInstructions(12345);
        g.halted = true;
        String[] lines = GuestReport.list(List.of(g)).split("\n");
        assertEquals(2, lines.length);
        assertTrue(lines[0].startsWith("GUEST"));
        assertTrue(lines[1].matches(g.id() + "\\s+halted\\s+-\\s+12345\\s+hypercall=2 page_fault=1"), lines[1]);
    }

    @Test
    void statsNamesTheHypercalls() {
        Guest g = guest();
        g.statistics.countHypercall(1);
        g.statistics.countHypercall(17);
        g.statistics.countHypercall(17);
        String text = GuestReport.stats(List.of(g));
        assertTrue(text.contains("hypercalls: LGUEST_INIT=1 NOTIFY=2"), text);
    }

    @Test
    void noGuests() {
        assertEquals("no guests", GuestReport.list(List.of()));
        assertEquals("no guests", GuestReport.stats(List.of()));
    }
}
