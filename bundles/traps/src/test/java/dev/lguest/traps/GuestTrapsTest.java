/*
 * Tests of trap and interrupt delivery: the frames pushed on the guest's stack, byte
 * for byte, from the kernel and from user mode; the interrupt flag kept in
 * lguest_data; when a pending interrupt may and may not be delivered; and the checks
 * on what the guest loads (IDT entries, its kernel stack, the system call vector).
 *
 * The guest is 256 KiB of real memory; its kernel sees it at 0xC0000000 (FakeMmu).
 */
package dev.lguest.traps;

import dev.lguest.testing.StateOnlyCpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.guest.LguestData;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class GuestTrapsTest {
    private static final int PAGES = 64;
    private static final int LGUEST_DATA = 0x5000;
    private static final int USER_CS = (14 << 3) | 3;
    private static final int USER_DS = (15 << 3) | 3;
    /** The kernel stack top: virtual 0xC0010000 is physical 0x10000. */
    private static final int KERNEL_ESP = 0xC0010000;
    private static final int KERNEL_EIP = 0xC0200000;
    private static final int NOIRQ_START = 0xC0300000;
    private static final int NOIRQ_END = 0xC0300010;
    /** A trap gate and an interrupt gate, as Linux writes them (DPL 0). */
    private static final int TRAP_GATE_HIGH = 0xC0108F00;
    private static final int INTERRUPT_GATE_HIGH = 0xC0108E00;

    private Arena arena;
    private Guest guest;
    private StateOnlyCpu cpu;
    private FakeMmu mmu;
    private final FakeSegments segments = new FakeSegments();
    private final GuestTraps traps = new GuestTraps();

    @BeforeEach
    void newGuest() {
        traps.swapWaitNanos = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(50);
        arena = Arena.ofConfined();
        MemorySegment ram = arena.allocate(PAGES * 4096L, 4096);
        guest = new Guest(new GuestMemory(ram), new PhysicalMemory(ram), PAGES, Thread.currentThread());
        cpu = new StateOnlyCpu();
        guest.setCpu(cpu, "test");
        mmu = new FakeMmu();
        traps.setPageTables(mmu);
        traps.setSegmentManager(segments);

        guest.segments.set(Lguest.GDT_ENTRY_KERNEL_CS, 0x0000ffff, 0x00cfbb00);
        guest.segments.set(Lguest.GDT_ENTRY_KERNEL_DS, 0x0000ffff, 0x00cfb300);
        guest.segments.set(14, 0x0000ffff, 0x00cffb00);
        guest.segments.set(15, 0x0000ffff, 0x00cff300);
        inKernel(KERNEL_ESP, KERNEL_EIP, 0x246);
    }

    @AfterEach
    void freeGuest() {
        guest.bus.close();
        arena.close();
    }

    private SegmentCache cache(int selector) {
        return segments.cacheFor(guest, selector);
    }

    private void inKernel(int esp, int eip, int eflags) {
        cpu.state.setSegment(SegmentRegister.CS, cache(Lguest.KERNEL_CS));
        cpu.state.setSegment(SegmentRegister.SS, cache(Lguest.KERNEL_DS));
        cpu.state.gpr[X86.ESP] = esp;
        cpu.state.eip = eip;
        cpu.state.eflags = eflags;
    }

    private void inUser(int esp, int eip, int eflags) {
        cpu.state.setSegment(SegmentRegister.CS, cache(USER_CS));
        cpu.state.setSegment(SegmentRegister.SS, cache(USER_DS));
        cpu.state.gpr[X86.ESP] = esp;
        cpu.state.eip = eip;
        cpu.state.eflags = eflags;
    }

    /** Marks the guest initialized, with lguest_data at LGUEST_DATA. */
    private void initialized(int irqEnabled, int blocked) {
        guest.lguestData = LGUEST_DATA;
        guest.noirqStart = NOIRQ_START;
        guest.noirqEnd = NOIRQ_END;
        guest.memory.write32(LGUEST_DATA + LguestData.IRQ_ENABLED, irqEnabled);
        guest.memory.write32(LGUEST_DATA + LguestData.BLOCKED_INTERRUPTS, blocked);
    }

    private int irqEnabled() {
        return guest.memory.read32(LGUEST_DATA + LguestData.IRQ_ENABLED);
    }

    /** The words, lowest address first, as the bytes they are in memory. */
    private static byte[] littleEndian(int... words) {
        ByteBuffer bytes = ByteBuffer.allocate(words.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int word : words) {
            bytes.putInt(word);
        }
        return bytes.array();
    }

    // ---- delivering traps ----

    @Test
    void trapFromKernelPushesEflagsCsEipAndErrorCode() {
        initialized(X86.IF, 0);
        traps.loadIdtEntry(guest, X86.PF_VECTOR, (0x60 << 16) | 0x1234, TRAP_GATE_HIGH);

        assertTrue(traps.deliverTrap(guest, X86.PF_VECTOR, true, 0x6));

        assertFalse(guest.isDead(), guest.deadReason());
        assertArrayEquals(littleEndian(0x6, KERNEL_EIP, Lguest.KERNEL_CS, 0x246),
                guest.memory.read(0x10000 - 16, 16));
        CpuState after = cpu.state;
        assertEquals(KERNEL_ESP - 16, after.gpr[X86.ESP]);
        assertEquals(0xC0101234, after.eip);
        assertEquals(Lguest.KERNEL_CS, after.segment(SegmentRegister.CS).selector());
        assertEquals(Lguest.KERNEL_DS, after.segment(SegmentRegister.SS).selector());
        assertEquals(0x246, after.eflags);
        // A trap gate leaves the guest's interrupts as they were.
        assertEquals(X86.IF, irqEnabled());
    }

    @Test
    void trapFromUserSwitchesToTheKernelStackAndInterruptGateDisablesInterrupts() {
        initialized(X86.IF, 0);
        traps.loadIdtEntry(guest, 32, (0x60 << 16) | 0x5678, INTERRUPT_GATE_HIGH);
        traps.setStack(guest, Lguest.KERNEL_DS, 0xC0020000, 2);
        // A user program being single-stepped.
        inUser(0x0BFF0000, 0x08048123, 0x302);

        assertTrue(traps.deliverTrap(guest, 32, false, 0));

        assertFalse(guest.isDead(), guest.deadReason());
        assertArrayEquals(littleEndian(0x08048123, USER_CS, 0x302, 0x0BFF0000, USER_DS),
                guest.memory.read(0x20000 - 20, 20));
        CpuState after = cpu.state;
        assertEquals(0xC0020000 - 20, after.gpr[X86.ESP]);
        assertEquals(0xC0105678, after.eip);
        assertEquals(Lguest.KERNEL_CS, after.segment(SegmentRegister.CS).selector());
        assertEquals(1, after.cpl());
        assertEquals(Lguest.KERNEL_DS, after.segment(SegmentRegister.SS).selector());
        // The handler starts without TF, and with the real IF still on.
        assertEquals(0x202, after.eflags);
        assertEquals(0, irqEnabled());
    }

    @Test
    void pushedInterruptFlagComesFromLguestData() {
        initialized(0, 0);
        traps.loadIdtEntry(guest, X86.GP, (0x60 << 16) | 0x1000, TRAP_GATE_HIGH);

        assertTrue(traps.deliverTrap(guest, X86.GP, true, 0));

        assertEquals(0x046, guest.memory.read32(0x10000 - 4));
        assertEquals(0x246, cpu.state.eflags);
    }

    @Test
    void frameStraddlingTwoPagesIsWrittenWhole() {
        initialized(X86.IF, 0);
        traps.loadIdtEntry(guest, X86.BP, (0x60 << 16) | 0x1000, TRAP_GATE_HIGH);
        inKernel(KERNEL_ESP + 2, KERNEL_EIP, 0x202);

        assertTrue(traps.deliverTrap(guest, X86.BP, false, 0));

        assertArrayEquals(littleEndian(KERNEL_EIP, Lguest.KERNEL_CS, 0x202), guest.memory.read(0x10002 - 12, 12));
        assertEquals(KERNEL_ESP + 2 - 12, cpu.state.gpr[X86.ESP]);
    }

    @Test
    void noHandlerMeansNoDelivery() {
        initialized(X86.IF, 0);
        assertFalse(traps.deliverTrap(guest, X86.GP, true, 0));
        assertFalse(traps.deliverTrap(guest, 256, false, 0));
        assertFalse(traps.deliverTrap(guest, -1, false, 0));
        assertEquals(0, cpu.loads);
        assertFalse(guest.isDead());
    }

    @Test
    void unmappedStackKillsAndLeavesTheCpuAlone() {
        initialized(X86.IF, 0);
        traps.loadIdtEntry(guest, X86.GP, (0x60 << 16) | 0x1000, TRAP_GATE_HIGH);
        inKernel(0x00001000, KERNEL_EIP, 0x202);

        assertTrue(traps.deliverTrap(guest, X86.GP, true, 0));

        assertTrue(guest.isDead());
        assertTrue(guest.deadReason().startsWith("pushing trap frame"), guest.deadReason());
        assertEquals(0, cpu.loads);
    }

    @Test
    void userTrapWithoutAKernelStackKills() {
        initialized(X86.IF, 0);
        traps.loadIdtEntry(guest, X86.GP, (0x60 << 16) | 0x1000, TRAP_GATE_HIGH);
        inUser(0x0BFF0000, 0x08048123, 0x202);

        traps.deliverTrap(guest, X86.GP, true, 0);

        assertTrue(guest.isDead());
        assertTrue(guest.deadReason().contains("stack segment"), guest.deadReason());
    }

    @Test
    void missingServicesKillRatherThanThrow() {
        initialized(X86.IF, 0);
        traps.loadIdtEntry(guest, X86.GP, (0x60 << 16) | 0x1000, TRAP_GATE_HIGH);
        traps.setPageTables(null);

        traps.deliverTrap(guest, X86.GP, true, 0);

        assertTrue(guest.isDead());
        assertEquals(0, cpu.loads);
    }

    @Test
    void whenTheBestPageTablesGoTheNextBoundOnesServeWithoutAGap() {
        initialized(X86.IF, 0);
        traps.loadIdtEntry(guest, X86.GP, (0x60 << 16) | 0x1000, TRAP_GATE_HIGH);
        traps.setPageTables(null);
        FakeMmu best = new FakeMmu();
        // Both implementations bound, as the framework binds every one (two copies of
        // the bundle during a swap); the older copy is the one in use.
        traps.bindPageTables(best, java.util.Map.of("service.id", 40L));
        traps.bindPageTables(mmu, java.util.Map.of("service.id", 41L));
        // The older copy stops (its replacement was offered nothing more: no new binding).
        traps.unbindPageTables(best);

        traps.deliverTrap(guest, X86.GP, true, 0);

        assertFalse(guest.isDead(), guest.deadReason());
        assertEquals(1, cpu.loads, "the trap frame went through the page tables still bound");
    }

    // ---- virtual interrupts ----

    private void interruptHandlers() {
        traps.loadIdtEntry(guest, 32, (0x60 << 16) | 0x0020, INTERRUPT_GATE_HIGH);
        traps.loadIdtEntry(guest, 33, (0x60 << 16) | 0x0021, INTERRUPT_GATE_HIGH);
        traps.loadIdtEntry(guest, 35, (0x60 << 16) | 0x0023, INTERRUPT_GATE_HIGH);
    }

    @Test
    void nothingIsDeliveredBeforeLguestInit() {
        interruptHandlers();
        guest.raiseIrq(0);
        traps.maybeDeliverInterrupt(guest);
        assertEquals(0, cpu.loads);
        assertEquals(1, guest.pendingIrqs());
    }

    @Test
    void interruptWaitsWhileTheGuestHasInterruptsOff() {
        initialized(0, 0);
        interruptHandlers();
        guest.raiseIrq(1);

        traps.maybeDeliverInterrupt(guest);
        assertEquals(0, cpu.loads);
        assertEquals(1 << 1, guest.pendingIrqs());

        guest.memory.write32(LGUEST_DATA + LguestData.IRQ_ENABLED, X86.IF);
        traps.maybeDeliverInterrupt(guest);
        assertEquals(0xC0100021, cpu.state.eip);
        assertEquals(0, guest.pendingIrqs());
        assertEquals(0, irqEnabled());
    }

    @Test
    void eflagsWithIfClearCopiedByLguestIretKeepInterruptsOff() {
        // lguest_iret stores the whole EFLAGS it returns to: 0x46 is "off", not zero.
        initialized(0x46, 0);
        interruptHandlers();
        guest.raiseIrq(1);

        traps.maybeDeliverInterrupt(guest);
        assertEquals(0, cpu.loads);
        assertEquals(1 << 1, guest.pendingIrqs());

        guest.memory.write32(LGUEST_DATA + LguestData.IRQ_ENABLED, 0x246);
        traps.maybeDeliverInterrupt(guest);
        assertEquals(0xC0100021, cpu.state.eip);
        assertEquals(0, guest.pendingIrqs());
    }

    @Test
    void blockedInterruptsAreSkipped() {
        initialized(X86.IF, 1);
        interruptHandlers();
        guest.raiseIrq(0);

        traps.maybeDeliverInterrupt(guest);
        assertEquals(0, cpu.loads);

        guest.raiseIrq(1);
        traps.maybeDeliverInterrupt(guest);
        assertEquals(0xC0100021, cpu.state.eip);
        assertEquals(1, guest.pendingIrqs());
    }

    @Test
    void noInterruptInsideTheNoirqRange() {
        initialized(X86.IF, 0);
        interruptHandlers();
        guest.raiseIrq(0);

        inKernel(KERNEL_ESP, NOIRQ_START, 0x202);
        traps.maybeDeliverInterrupt(guest);
        inKernel(KERNEL_ESP, NOIRQ_END - 1, 0x202);
        traps.maybeDeliverInterrupt(guest);
        assertEquals(0, cpu.loads);

        inKernel(KERNEL_ESP, NOIRQ_END, 0x202);
        traps.maybeDeliverInterrupt(guest);
        assertEquals(0xC0100020, cpu.state.eip);
        assertEquals(NOIRQ_END, guest.memory.read32(0x10000 - 12));
    }

    @Test
    void lowestPendingInterruptGoesFirst() {
        initialized(X86.IF, 0);
        interruptHandlers();
        guest.raiseIrq(3);
        guest.raiseIrq(1);

        traps.maybeDeliverInterrupt(guest);

        assertEquals(0xC0100021, cpu.state.eip);
        assertEquals(1 << 3, guest.pendingIrqs());
    }

    @Test
    void haltedGuestWakesWithInterruptsOnAndTakesTheInterrupt() {
        // Like Linux's safe_halt: interrupts off, then HALT.
        initialized(0, 0);
        interruptHandlers();
        guest.halted = true;
        guest.raiseIrq(0);

        traps.maybeDeliverInterrupt(guest);

        assertFalse(guest.halted);
        assertEquals(0xC0100020, cpu.state.eip);
        // The frame returns to the guest with interrupts on; the gate turned them off.
        assertEquals(0x246, guest.memory.read32(0x10000 - 4));
        assertEquals(0, irqEnabled());
        assertEquals(0, guest.pendingIrqs());
    }

    @Test
    void interruptWithoutHandlerStaysPendingButWakesTheGuest() {
        initialized(X86.IF, 0);
        interruptHandlers();
        guest.halted = true;
        guest.raiseIrq(5);

        traps.maybeDeliverInterrupt(guest);

        assertFalse(guest.halted);
        assertEquals(0, cpu.loads);
        assertEquals(1 << 5, guest.pendingIrqs());
    }

    @Test
    void haltedGuestWithOnlyBlockedInterruptsSleepsOn() {
        initialized(0, 1);
        interruptHandlers();
        guest.halted = true;
        guest.raiseIrq(0);

        traps.maybeDeliverInterrupt(guest);

        assertTrue(guest.halted);
        assertEquals(0, irqEnabled());
    }

    @Test
    void hostileLguestDataAddressDoesNotThrow() {
        guest.lguestData = 0xFFFFFFF0;
        interruptHandlers();
        guest.raiseIrq(0);
        traps.maybeDeliverInterrupt(guest);
        assertEquals(0, cpu.loads);
        assertFalse(traps.checkSyscallVector(guest));
    }

    // ---- the IDT ----

    @Test
    void idtEntryKeepsOnlyHandlerPresentPrivilegeAndType() {
        guest.traps.changed = false;
        // Selector 0x10, reserved bits 0-7 and bit 12 set: all replaced or dropped.
        traps.loadIdtEntry(guest, 0x80, 0x0010ABCD, 0xC010FFFF);

        assertEquals((Lguest.KERNEL_CS << 16) | 0xABCD, guest.traps.low(0x80));
        assertEquals(0xC010EF00, guest.traps.high(0x80));
        assertTrue(guest.traps.changed);
    }

    @Test
    void notPresentEntryIsCleared() {
        traps.loadIdtEntry(guest, 40, 0x00601234, INTERRUPT_GATE_HIGH);
        traps.loadIdtEntry(guest, 40, 0x00601234, 0x00000E00);
        assertEquals(0, guest.traps.low(40));
        assertEquals(0, guest.traps.high(40));
        assertFalse(guest.isDead());
    }

    @Test
    void hostVectorsAreIgnored() {
        guest.traps.changed = false;
        for (int vector : new int[] {2, 8, 15, 0x1f}) {
            traps.loadIdtEntry(guest, vector, 0x00601234, INTERRUPT_GATE_HIGH);
            assertEquals(0, guest.traps.high(vector), "vector " + vector);
        }
        assertFalse(guest.traps.changed);
        assertFalse(guest.isDead());
    }

    @Test
    void vectorOutOfRangeKills() {
        traps.loadIdtEntry(guest, 256, 0x00601234, INTERRUPT_GATE_HIGH);
        assertTrue(guest.isDead());
        assertEquals("Setting idt entry 256", guest.deadReason());
    }

    @Test
    void negativeVectorKills() {
        traps.loadIdtEntry(guest, -1, 0x00601234, INTERRUPT_GATE_HIGH);
        assertTrue(guest.isDead());
    }

    @Test
    void gatesOtherThanInterruptAndTrapKill() {
        // A call gate (type 0xC).
        traps.loadIdtEntry(guest, 3, 0x00601234, 0xC010EC00);
        assertTrue(guest.isDead());
        assertEquals("bad IDT type 12", guest.deadReason());
        assertEquals(0, guest.traps.high(3));
    }

    // ---- the kernel stack ----

    @Test
    void setStackRecordsAndPins() {
        guest.traps.changed = false;
        traps.setStack(guest, Lguest.KERNEL_DS, 0xC0020000, 2);

        assertEquals(Lguest.KERNEL_DS, guest.traps.ss1);
        assertEquals(0xC0020000, guest.traps.esp1);
        assertEquals(2, guest.traps.stackPages);
        // A new stack leaves the IDT as it was: the switcher need not rebuild it.
        assertFalse(guest.traps.changed);
        assertEquals(1, mmu.pinned.size());
        assertArrayEquals(new int[] {0xC0020000, 2}, mmu.pinned.get(0));
    }

    @Test
    void ringZeroStackSegmentKills() {
        traps.setStack(guest, Lguest.KERNEL_DS & ~3, 0xC0020000, 2);
        assertTrue(guest.isDead());
        assertTrue(guest.deadReason().startsWith("bad stack segment"), guest.deadReason());
        assertEquals(0, guest.traps.ss1);
        assertTrue(mmu.pinned.isEmpty());
    }

    @Test
    void tooManyStackPagesKill() {
        traps.setStack(guest, Lguest.KERNEL_DS, 0xC0020000, 3);
        assertTrue(guest.isDead());
        assertEquals("bad stack pages 3", guest.deadReason());
        assertTrue(mmu.pinned.isEmpty());
    }

    // ---- the clock ----

    @Test
    void clockEventSetsAndStopsTheDeadline() {
        long before = System.nanoTime();
        traps.setClockEvent(guest, 1_000_000);
        long after = System.nanoTime();
        assertTrue(guest.clockDeadline - before >= 1_000_000);
        assertTrue(guest.clockDeadline - after <= 1_000_000);

        traps.setClockEvent(guest, 0);
        assertEquals(0, guest.clockDeadline);
    }

    /** As lguest's hrtimer_cancel: the stop cancels the timer, not a tick it already raised. */
    @Test
    void stoppingTheClockKeepsATickAlreadyPending() {
        traps.setClockEvent(guest, 1);
        guest.raiseIrq(0);
        traps.setClockEvent(guest, 0);
        assertEquals(0, guest.clockDeadline);
        assertEquals(1, guest.pendingIrqs() & 1);
    }

    // ---- direct traps and the system call vector ----

    @Test
    void onlyTheSystemCallTrapGateGoesDirect() {
        guest.syscallVector = Lguest.SYSCALL_VECTOR;
        traps.loadIdtEntry(guest, 0x80, 0x00601234, 0xC010EF00);
        traps.loadIdtEntry(guest, X86.BP, 0x00601234, 0xC010EF00);
        traps.loadIdtEntry(guest, 0x81, 0x00601234, 0xC010EF00);

        assertTrue(traps.isDirectTrap(guest, 0x80));
        assertFalse(traps.isDirectTrap(guest, X86.BP));
        assertFalse(traps.isDirectTrap(guest, 0x81));
        assertFalse(traps.isDirectTrap(guest, Lguest.TRAP_ENTRY));
        assertFalse(traps.isDirectTrap(guest, 300));

        // An interrupt gate would need the real IF cleared: never direct.
        traps.loadIdtEntry(guest, 0x80, 0x00601234, 0xC010EE00);
        assertFalse(traps.isDirectTrap(guest, 0x80));
        // Nor a vector with no handler.
        traps.loadIdtEntry(guest, 0x80, 0, 0);
        assertFalse(traps.isDirectTrap(guest, 0x80));
    }

    @Test
    void systemCallVectorMustBeTheHosts() {
        assertFalse(traps.checkSyscallVector(guest));

        initialized(X86.IF, 0);
        guest.memory.write32(LGUEST_DATA + LguestData.SYSCALL_VEC, 0x80);
        assertTrue(traps.checkSyscallVector(guest));

        guest.memory.write32(LGUEST_DATA + LguestData.SYSCALL_VEC, 0x20);
        assertFalse(traps.checkSyscallVector(guest));
        guest.memory.write32(LGUEST_DATA + LguestData.SYSCALL_VEC, Lguest.TRAP_ENTRY);
        assertFalse(traps.checkSyscallVector(guest));
    }
}
