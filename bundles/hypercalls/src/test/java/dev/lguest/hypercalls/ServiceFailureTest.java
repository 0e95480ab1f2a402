/*
 * A service that fails on a guest's arguments must not take the host with it: the
 * hypercall handler turns any exception into the death of that guest, with a reason
 * that says which hypercall and carries no Java text (class names, messages, stack
 * traces), since the reason is what the Launcher prints.
 */
package dev.lguest.hypercalls;

import dev.lguest.testing.StateOnlyCpu;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.X86;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.guest.LguestData;
import dev.lguest.api.hypercalls.Hypercall;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.GuestMemoryFault;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.traps.TrapDelivery;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Proxy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ServiceFailureTest {
    private static final int PAGES = 16;
    private static final int LGUEST_DATA = 0x3000;

    private Arena arena;
    private Guest guest;
    private StateOnlyCpu cpu;
    private final RecordingServices services = new RecordingServices();
    private final GuestHypercalls hypercalls = new GuestHypercalls();

    @BeforeEach
    void initializedGuest() {
        arena = Arena.ofConfined();
        MemorySegment ram = arena.allocate(PAGES * 4096L, 4096);
        guest = new Guest(new GuestMemory(ram), new PhysicalMemory(ram), PAGES, Thread.currentThread());
        cpu = new StateOnlyCpu();
        guest.setCpu(cpu, "test");
        hypercalls.setTrapDelivery(services);
        hypercalls.setSegmentManager(services);
        hypercalls.setShadowPageTables(services);
        for (int slot = 0; slot < LguestData.HCALL_RING; slot++) {
            guest.memory.write8(LGUEST_DATA + LguestData.HCALL_STATUS + slot, LguestData.HCALL_DONE);
        }
        guest.memory.write32(LGUEST_DATA + LguestData.SYSCALL_VEC, Lguest.SYSCALL_VECTOR);
        trap(Hypercall.LGUEST_INIT.number, LGUEST_DATA, 0, 0);
        assertFalse(guest.isDead(), guest.deadReason());
    }

    @AfterEach
    void freeGuest() {
        guest.bus.close();
        arena.close();
    }

    private void trap(int number, int arg1, int arg2, int arg3) {
        cpu.state.gpr[X86.EAX] = number;
        cpu.state.gpr[X86.EDX] = arg1;
        cpu.state.gpr[X86.EBX] = arg2;
        cpu.state.gpr[X86.ECX] = arg3;
        guest.hypercallPending = true;
        hypercalls.doHypercalls(guest);
    }

    /** A trap service whose every method throws what it is given. */
    private static TrapDelivery throwing(RuntimeException failure) {
        return (TrapDelivery) Proxy.newProxyInstance(TrapDelivery.class.getClassLoader(),
                new Class<?>[] {TrapDelivery.class}, (proxy, method, args) -> {
                    throw failure;
                });
    }

    @Test
    void aServiceThrowingKillsOnlyTheGuestWithAPlainReason() {
        hypercalls.setTrapDelivery(throwing(new IllegalStateException("boom in the host")));
        trap(Hypercall.LOAD_IDT_ENTRY.number, 0x80, 0, 0);
        assertTrue(guest.isDead());
        assertEquals("hypercall 6 failed in the host", guest.deadReason());
        assertFalse(guest.hypercallPending, "the call is over, even though it failed");
    }

    @Test
    void aGuestMemoryFaultFromAServiceIsReportedByItsNumbers() {
        hypercalls.setTrapDelivery(throwing(new GuestMemoryFault(0xE0000000L, 8)));
        trap(Hypercall.SET_STACK.number, 0x69, 0x2000, 1);
        assertEquals("bad guest memory access 0xe0000000 len 8", guest.deadReason());
    }

    @Test
    void aServiceThrowingInTheAsyncRingStopsTheRing() {
        hypercalls.setTrapDelivery(throwing(new NullPointerException()));
        long entry = LGUEST_DATA + LguestData.HCALLS;
        guest.memory.write32(entry, Hypercall.SET_CLOCKEVENT.number);
        guest.memory.write32(entry + 12, 1000);
        guest.memory.write8(LGUEST_DATA + LguestData.HCALL_STATUS, 0);
        trap(Hypercall.FLUSH_ASYNC.number, 0, 0, 0);
        assertEquals("hypercall 9 failed in the host", guest.deadReason());
    }
}
