/*
 * Tests of the hypercall handler: LGUEST_INIT and what it writes into lguest_data,
 * the rule that nothing comes before it, unknown numbers, CRASH, the dispatch of
 * every call to its service, and the asynchronous ring: run in order before the call
 * in the registers, marked done, resumed where it stopped, and cut short by NOTIFY.
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
import dev.lguest.api.memory.PhysicalMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class GuestHypercallsTest {
    private static final int PAGES = 16;
    private static final int LGUEST_DATA = 0x3000;
    private static final int PGDIR = 0x7000;

    private Arena arena;
    private Guest guest;
    private StateOnlyCpu cpu;
    private final RecordingServices services = new RecordingServices();
    private final GuestHypercalls hypercalls = new GuestHypercalls();

    @BeforeEach
    void newGuest() {
        hypercalls.swapWaitNanos = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(50);
        arena = Arena.ofConfined();
        MemorySegment ram = arena.allocate(PAGES * 4096L, 4096);
        guest = new Guest(new GuestMemory(ram), new PhysicalMemory(ram), PAGES, Thread.currentThread());
        cpu = new StateOnlyCpu();
        guest.setCpu(cpu, "test");
        guest.paging.guestPgdir = PGDIR;
        hypercalls.setTrapDelivery(services);
        hypercalls.setSegmentManager(services);
        hypercalls.setShadowPageTables(services);

        // lguest_data as a Linux guest links it: an empty ring, its iret range, its
        // kernel address and system call vector, and the timer blocked.
        for (int slot = 0; slot < LguestData.HCALL_RING; slot++) {
            guest.memory.write8(LGUEST_DATA + LguestData.HCALL_STATUS + slot, LguestData.HCALL_DONE);
        }
        guest.memory.write32(LGUEST_DATA + LguestData.NOIRQ_START, 0xC0101000);
        guest.memory.write32(LGUEST_DATA + LguestData.NOIRQ_END, 0xC0101020);
        guest.memory.write32(LGUEST_DATA + LguestData.KERNEL_ADDRESS, 0xC0000000);
        guest.memory.write32(LGUEST_DATA + LguestData.SYSCALL_VEC, Lguest.SYSCALL_VECTOR);
        guest.memory.write32(LGUEST_DATA + LguestData.BLOCKED_INTERRUPTS, 1);
    }

    @AfterEach
    void freeGuest() {
        guest.bus.close();
        arena.close();
    }

    /** The guest traps with int $0x1f and these registers. */
    private void trap(int number, int arg1, int arg2, int arg3) {
        cpu.state.gpr[X86.EAX] = number;
        cpu.state.gpr[X86.EDX] = arg1;
        cpu.state.gpr[X86.EBX] = arg2;
        cpu.state.gpr[X86.ECX] = arg3;
        guest.hypercallPending = true;
        hypercalls.doHypercalls(guest);
    }

    private void init() {
        trap(Hypercall.LGUEST_INIT.number, LGUEST_DATA, 0, 0);
        assertFalse(guest.isDead(), guest.deadReason());
        services.calls.clear();
    }

    private int data(int offset) {
        return guest.memory.read32(LGUEST_DATA + offset);
    }

    /** Queues a call in ring slot {@code slot}, in the registers' order eax, ebx, ecx, edx. */
    private void queue(int slot, Hypercall call, int arg1, int arg2, int arg3) {
        long entry = LGUEST_DATA + LguestData.HCALLS + slot * (long) LguestData.HCALL_ENTRY_SIZE;
        guest.memory.write32(entry, call.number);
        guest.memory.write32(entry + 4, arg2);
        guest.memory.write32(entry + 8, arg3);
        guest.memory.write32(entry + 12, arg1);
        guest.memory.write8(LGUEST_DATA + LguestData.HCALL_STATUS + slot, 0);
    }

    private int status(int slot) {
        return guest.memory.read8(LGUEST_DATA + LguestData.HCALL_STATUS + slot);
    }

    // ---- swaps ----

    /**
     * A call waiting out a collaborator's gap when this handler is itself deactivated
     * (its own update comes right after the collaborator's): the framework binds the
     * collaborator, deactivates the handler and unbinds it again, all between two looks
     * of the waiting call. It must finish with what the handler had at deactivation,
     * not wait for a binding that never comes to a deactivated instance.
     */
    @Test
    void aCallWaitingForACollaboratorFinishesWithWhatARetiredHandlerHad() throws Exception {
        init();
        hypercalls.swapWaitNanos = java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
        hypercalls.setTrapDelivery(null);
        Thread framework = new Thread(() -> {
            try {
                Thread.sleep(30);
            } catch (InterruptedException e) {
                return;
            }
            hypercalls.setTrapDelivery(services);
            hypercalls.deactivate();
            hypercalls.setTrapDelivery(null);
        });
        framework.start();
        trap(Hypercall.LOAD_IDT_ENTRY.number, 0x80, 0x1234, 0x5678);
        framework.join();
        assertFalse(guest.isDead(), guest.deadReason());
        assertEquals(List.of("loadIdtEntry 128 0x1234 0x5678"), services.calls);
    }

    // ---- LGUEST_INIT ----

    @Test
    void initFillsTheHostFieldsOfLguestData() {
        guest.memory.write32(LGUEST_DATA + LguestData.TSC_KHZ, 0x12345);
        long before = System.currentTimeMillis() / 1000;

        trap(Hypercall.LGUEST_INIT.number, LGUEST_DATA, 0, 0);

        assertFalse(guest.isDead(), guest.deadReason());
        assertFalse(guest.hypercallPending);
        assertEquals(LGUEST_DATA, guest.lguestData);
        assertEquals(0x400000, data(LguestData.RESERVE_MEM));
        assertEquals(0, data(LguestData.TSC_KHZ));
        assertEquals(PGDIR, data(LguestData.PGDIR));
        long seconds = Integer.toUnsignedLong(data(LguestData.TIME_SEC));
        assertTrue(seconds >= before && seconds <= before + 5, "time " + seconds);
        assertTrue(Integer.compareUnsigned(data(LguestData.TIME_NSEC), 1_000_000_000) < 0);

        assertEquals(0xC0101000, guest.noirqStart);
        assertEquals(0xC0101020, guest.noirqEnd);
        assertEquals(0xC0000000, guest.kernelAddress);
        assertEquals(Lguest.SYSCALL_VECTOR, guest.syscallVector);
        assertEquals(List.of("checkSyscallVector", "flush true"), services.calls);
        assertEquals(1, guest.statistics.hypercalls(Hypercall.LGUEST_INIT.number));
        // The guest's own fields are left as it wrote them.
        assertEquals(1, data(LguestData.BLOCKED_INTERRUPTS));
    }

    @Test
    void anyCallBeforeInitKills() {
        trap(Hypercall.LOAD_GDT.number, 0x2000, 32, 0);
        assertTrue(guest.isDead());
        assertEquals("hypercall 3 before LGUEST_INIT", guest.deadReason());
        assertTrue(services.calls.isEmpty());
        assertEquals(0, guest.lguestData);
    }

    @Test
    void evenFlushAsyncBeforeInitKills() {
        trap(Hypercall.FLUSH_ASYNC.number, 0, 0, 0);
        assertTrue(guest.isDead());
    }

    @Test
    void secondInitKills() {
        init();
        trap(Hypercall.LGUEST_INIT.number, LGUEST_DATA, 0, 0);
        assertTrue(guest.isDead());
        assertEquals("already have lguest_data", guest.deadReason());
    }

    @Test
    void lguestDataOutsideGuestMemoryKillsWithoutThrowing() {
        for (int address : new int[] {0xFFFFFF00, PAGES * 4096 - LguestData.SIZE + 4, -1}) {
            Guest victim = new Guest(guest.memory, guest.bus, PAGES, Thread.currentThread());
            victim.setCpu(cpu, "test");
            cpu.state.gpr[X86.EAX] = Hypercall.LGUEST_INIT.number;
            cpu.state.gpr[X86.EDX] = address;

            hypercalls.doHypercalls(victim);

            assertTrue(victim.isDead(), "address " + Integer.toHexString(address));
            assertTrue(victim.deadReason().startsWith("bad guest page"), victim.deadReason());
            assertEquals(0, victim.lguestData);
        }
    }

    @Test
    void lguestDataAboveTheFrameLimitKills() {
        // Memory the Launcher mapped but did not give the guest.
        Guest small = new Guest(guest.memory, guest.bus, 2, Thread.currentThread());
        small.setCpu(cpu, "test");
        cpu.state.gpr[X86.EAX] = Hypercall.LGUEST_INIT.number;
        cpu.state.gpr[X86.EDX] = LGUEST_DATA;

        hypercalls.doHypercalls(small);

        assertTrue(small.isDead());
    }

    @Test
    void badSyscallVectorKills() {
        services.syscallVectorOk = false;
        trap(Hypercall.LGUEST_INIT.number, LGUEST_DATA, 0, 0);
        assertTrue(guest.isDead());
        assertEquals("bad syscall vector", guest.deadReason());
    }

    @Test
    void kernelAddressInTheSwitchersSlotKills() {
        guest.memory.write32(LGUEST_DATA + LguestData.KERNEL_ADDRESS, 0xFFC00000);
        trap(Hypercall.LGUEST_INIT.number, LGUEST_DATA, 0, 0);
        assertTrue(guest.isDead());
        assertEquals("bad kernel address 0xffc00000", guest.deadReason());
    }

    // ---- the table ----

    @Test
    void unknownNumbersKill() {
        for (int number : new int[] {11, 12, 13, 18, 255, -1}) {
            Guest victim = new Guest(guest.memory, guest.bus, PAGES, Thread.currentThread());
            victim.lguestData = LGUEST_DATA;
            hypercalls.doHypercall(victim, number, 0, 0, 0);
            assertTrue(victim.isDead(), "number " + number);
            assertEquals("Bad hypercall " + Integer.toUnsignedString(number), victim.deadReason());
        }
    }

    @Test
    void crashKillsWithTheGuestsMessage() {
        init();
        byte[] message = "Power down\0".getBytes(StandardCharsets.ISO_8859_1);
        guest.memory.write(0x5000, message);

        trap(Hypercall.CRASH.number, 0x5000, 0, 0);

        assertTrue(guest.isDead());
        assertEquals(Lguest.POWER_DOWN, guest.deadReason());
    }

    @Test
    void crashMessageIsCutAt127Characters() {
        init();
        guest.memory.fill(0x5000, 300, (byte) 'x');

        trap(Hypercall.CRASH.number, 0x5000, 0, 0);

        assertEquals("x".repeat(127), guest.deadReason());
    }

    @Test
    void crashAtABadAddressStillKills() {
        init();
        trap(Hypercall.CRASH.number, 0xFFFFFFF0, 0, 0);
        assertTrue(guest.isDead());
        assertTrue(guest.deadReason().startsWith("bad read address"), guest.deadReason());
    }

    @Test
    void callsReachTheirServicesWithTheirArguments() {
        init();
        trap(Hypercall.LOAD_GDT.number, 0x2000, 32, 0);
        trap(Hypercall.NEW_PGTABLE.number, 0x8000, 0, 0);
        trap(Hypercall.FLUSH_TLB.number, 1, 0, 0);
        trap(Hypercall.FLUSH_TLB.number, 0, 0, 0);
        trap(Hypercall.LOAD_IDT_ENTRY.number, 0x80, 0x00601234, 0xC010EF00);
        trap(Hypercall.SET_STACK.number, 0x69, 0xC0400000, 2);
        trap(Hypercall.SET_CLOCKEVENT.number, 0xF0000000, 0, 0);
        trap(Hypercall.SET_PTE.number, 0x8000, 0xC0001000, 0x1067);
        trap(Hypercall.SET_PMD.number, 0x8000, 768, 0);
        trap(Hypercall.LOAD_TLS.number, 0x2100, 0, 0);

        assertFalse(guest.isDead(), guest.deadReason());
        assertEquals(List.of("loadGdt 0x2000 32", "newPageTable 0x8000", "flush true", "flush false",
                "loadIdtEntry 128 0x601234 0xc010ef00", "setStack 0x69 0xc0400000 2",
                "setClockEvent 4026531840", "setPte 0x8000 0xc0001000 0x1067", "setPmd 0x8000 768",
                "loadTls 0x2100"), services.calls);
        assertEquals(2, guest.statistics.hypercalls(Hypercall.FLUSH_TLB.number));
    }

    @Test
    void flagCallsSetTheGuestsFlags() {
        init();
        trap(Hypercall.TS.number, 8, 0, 0);
        assertTrue(guest.taskSwitched);
        trap(Hypercall.TS.number, 0, 0, 0);
        assertFalse(guest.taskSwitched);

        trap(Hypercall.HALT.number, 0, 0, 0);
        assertTrue(guest.halted);

        trap(Hypercall.NOTIFY.number, 0x9000, 0, 0);
        assertEquals(0x9000, guest.pendingNotify);
        assertFalse(guest.hypercallPending);

        trap(Hypercall.FLUSH_ASYNC.number, 0, 0, 0);
        assertFalse(guest.isDead());
    }

    @Test
    void missingServiceKillsWithAReason() {
        init();
        hypercalls.setTrapDelivery(null);
        trap(Hypercall.LOAD_IDT_ENTRY.number, 0x80, 0, 0);
        assertTrue(guest.isDead());
        assertTrue(guest.deadReason().contains("trap service"), guest.deadReason());
    }

    // ---- the asynchronous ring ----

    @Test
    void ringRunsInOrderBeforeTheNormalCall() {
        init();
        queue(0, Hypercall.LOAD_TLS, 0x1000, 0, 0);
        queue(1, Hypercall.SET_PTE, 0x8000, 0xC0002000, 0x2067);
        queue(2, Hypercall.FLUSH_TLB, 0, 0, 0);

        trap(Hypercall.LOAD_GDT.number, 0x2000, 32, 0);

        assertEquals(List.of("loadTls 0x1000", "setPte 0x8000 0xc0002000 0x2067", "flush false",
                "loadGdt 0x2000 32"), services.calls);
        for (int slot = 0; slot < LguestData.HCALL_RING; slot++) {
            assertEquals(LguestData.HCALL_DONE, status(slot), "slot " + slot);
        }
        assertFalse(guest.hypercallPending);
    }

    @Test
    void ringResumesWhereItStopped() {
        init();
        queue(0, Hypercall.LOAD_TLS, 0x1000, 0, 0);
        trap(Hypercall.FLUSH_ASYNC.number, 0, 0, 0);
        services.calls.clear();

        // The guest fills the next slot; slot 0 is pending again but later in the ring.
        queue(1, Hypercall.LOAD_TLS, 0x1100, 0, 0);
        queue(0, Hypercall.LOAD_TLS, 0x1200, 0, 0);
        trap(Hypercall.FLUSH_ASYNC.number, 0, 0, 0);

        assertEquals(List.of("loadTls 0x1100"), services.calls);
        assertEquals(0, status(0));
    }

    @Test
    void ringWrapsAroundInOrder() {
        init();
        for (int slot = 0; slot < 62; slot++) {
            queue(slot, Hypercall.FLUSH_TLB, 0, 0, 0);
        }
        trap(Hypercall.FLUSH_ASYNC.number, 0, 0, 0);
        services.calls.clear();

        queue(62, Hypercall.LOAD_TLS, 0x62, 0, 0);
        queue(63, Hypercall.LOAD_TLS, 0x63, 0, 0);
        queue(0, Hypercall.LOAD_TLS, 0x100, 0, 0);
        trap(Hypercall.FLUSH_ASYNC.number, 0, 0, 0);

        assertEquals(List.of("loadTls 0x62", "loadTls 0x63", "loadTls 0x100"), services.calls);
    }

    @Test
    void notifyInTheRingDefersTheRestAndTheNormalCall() {
        init();
        queue(0, Hypercall.NOTIFY, 0x9000, 0, 0);
        queue(1, Hypercall.LOAD_TLS, 0x1000, 0, 0);

        trap(Hypercall.HALT.number, 0, 0, 0);

        assertEquals(0x9000, guest.pendingNotify);
        assertEquals(LguestData.HCALL_DONE, status(0));
        assertEquals(0, status(1));
        assertFalse(guest.halted);
        assertTrue(guest.hypercallPending);
        assertTrue(services.calls.isEmpty());

        // The Launcher has read the notification; the guest runs on.
        guest.pendingNotify = 0;
        hypercalls.doHypercalls(guest);

        assertEquals(List.of("loadTls 0x1000"), services.calls);
        assertTrue(guest.halted);
        assertFalse(guest.hypercallPending);
    }

    @Test
    void badCallInTheRingKillsAndStops() {
        init();
        queue(0, Hypercall.LOAD_TLS, 0x1000, 0, 0);
        guest.memory.write32(LGUEST_DATA + LguestData.HCALLS + LguestData.HCALL_ENTRY_SIZE, 12);
        guest.memory.write8(LGUEST_DATA + LguestData.HCALL_STATUS + 1, 0);
        queue(2, Hypercall.LOAD_TLS, 0x2000, 0, 0);

        trap(Hypercall.LOAD_GDT.number, 0x2000, 32, 0);

        assertTrue(guest.isDead());
        assertEquals("Bad hypercall 12", guest.deadReason());
        assertEquals(List.of("loadTls 0x1000"), services.calls);
    }
}
