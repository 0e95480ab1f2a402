package dev.lguest.observability;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.GuestStatistics.Exit;
import dev.lguest.api.hypercalls.Hypercall;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;
import javax.management.ObjectName;
import javax.management.openmbean.TabularData;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The MBeans follow the registry: one per live guest with its counters, gone with the guest. */
class GuestMBeansComponentTest {
    private final Arena arena = Arena.ofShared();
    private final MBeanServer server = MBeanServerFactory.newMBeanServer();
    private final List<Guest> live = new CopyOnWriteArrayList<>();
    private final GuestMBeansComponent component = new GuestMBeansComponent(server);

    @AfterEach
    void tearDown() {
        component.deactivate();
        arena.close();
    }

    private Guest guest() {
        var ram = arena.allocate(4 << 20);
        return new Guest(new GuestMemory(ram), new PhysicalMemory(ram), 1024, Thread.currentThread());
    }

    @Test
    void aGuestHasAnMBeanWithItsCountersWhileItLives() throws Exception {
        component.setRegistry(() -> live);
        Guest g = guest();
        g.statistics.countExit(Exit.PAGE_FAULT);
        g.statistics.countExit(Exit.PAGE_FAULT);
        g.statistics.countExit(Exit.HYPERCALL);
        g.statistics.countHypercall(Hypercall.LGUEST_INIT.number);
        g.statistics.addInstructions(1234);
        live.add(g);
        component.refresh();

        ObjectName name = new ObjectName("dev.lguest:type=Guest,id=" + g.id());
        assertTrue(server.isRegistered(name));
        assertEquals(1234L, server.getAttribute(name, "Instructions"));
        assertEquals(3L, server.getAttribute(name, "Exits"));
        assertEquals(4L << 20, server.getAttribute(name, "MemoryBytes"));
        assertEquals("running", server.getAttribute(name, "State"));
        TabularData exits = (TabularData) server.getAttribute(name, "ExitCounts");
        assertEquals(2L, exits.get(new Object[] {"PAGE_FAULT"}).get("value"));
        TabularData calls = (TabularData) server.getAttribute(name, "HypercallCounts");
        assertEquals(1L, calls.get(new Object[] {"LGUEST_INIT"}).get("value"));

        ObjectName platform = new ObjectName("dev.lguest:type=Platform");
        assertEquals(1, server.getAttribute(platform, "LiveGuests"));
        assertArrayEquals(new int[] {g.id()}, (int[]) server.getAttribute(platform, "GuestIds"));

        g.kill("test over");
        assertEquals("dead: test over", server.getAttribute(name, "State"));
        live.remove(g);
        component.refresh();
        assertFalse(server.isRegistered(name), "the guest left the registry: its MBean is gone");
        assertEquals(1L, server.getAttribute(platform, "GuestsSeen"));
    }

    @Test
    void withoutARegistryThereIsOnlyThePlatform() throws Exception {
        component.refresh();
        assertEquals(0, server.getAttribute(new ObjectName("dev.lguest:type=Platform"), "LiveGuests"));
        assertEquals(1, server.queryNames(new ObjectName("dev.lguest:*"), null).size());
    }

    @Test
    void deactivationUnregistersEverything() throws Exception {
        component.setRegistry(() -> live);
        live.add(guest());
        component.refresh();
        assertEquals(2, server.queryNames(new ObjectName("dev.lguest:*"), null).size());
        component.deactivate();
        assertEquals(0, server.queryNames(new ObjectName("dev.lguest:*"), null).size());
    }

    @Test
    void nothingIsRegisteredUntilThereIsAServerToRegisterIn() throws Exception {
        java.util.concurrent.atomic.AtomicReference<MBeanServer> made = new java.util.concurrent.atomic.AtomicReference<>();
        MBeanServer later = MBeanServerFactory.newMBeanServer();
        GuestMBeansComponent waiting = new GuestMBeansComponent(made::get);
        try {
            waiting.setRegistry(() -> live);
            Guest g = guest();
            live.add(g);
            waiting.refresh();
            assertTrue(later.queryNames(new ObjectName("dev.lguest:*"), null).isEmpty());

            made.set(later);
            waiting.refresh();
            assertTrue(later.isRegistered(new ObjectName("dev.lguest:type=Platform")));
            assertTrue(later.isRegistered(new ObjectName("dev.lguest:type=Guest,id=" + g.id())));
        } finally {
            waiting.deactivate();
        }
        assertTrue(later.queryNames(new ObjectName("dev.lguest:*"), null).isEmpty());
    }
}
