/*
 * Traps and interrupts, the way lguest's interrupts_and_traps.c does them.
 *
 * There are three kinds: real host interrupts (never the guest's business), virtual
 * interrupts for the guest's devices and clock, and traps the guest itself caused.
 * The last two must reach the guest looking exactly as its own CPU would have
 * delivered them: a frame pushed on its kernel stack (after a switch to that stack if
 * it was in user mode), then a jump to the handler it registered. That is what
 * deliverTrap() does by hand, so that the host can look at a trap first (a page fault
 * for the shadow page tables, say) and then pass it on.
 *
 * The guest never really disables interrupts: cli and sti only write
 * lguest_data.irq_enabled. So whenever we push EFLAGS for it we put that field's
 * idea of IF into the pushed copy, and entering an interrupt gate clears the field.
 *
 * We also keep the guest's IDT (checked entry by entry as it loads them), its kernel
 * stack from SET_STACK, and its clock. All of that lives in the Guest: this component
 * holds nothing about any guest, so another one can take over at any moment.
 */
package dev.lguest.traps;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.guest.LguestData;
import dev.lguest.api.memory.GuestMemoryFault;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.service.ServiceSlot;
import dev.lguest.api.service.SwapGap;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.traps.TrapDelivery;
import dev.lguest.api.traps.TrapState;
import java.util.Map;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

@Component(service = TrapDelivery.class)
public final class GuestTraps implements TrapDelivery {
    // Gate types we accept in the guest's IDT: 32-bit interrupt and trap gates.
    static final int INTERRUPT_GATE = 0xE;
    static final int TRAP_GATE = 0xF;

    /** The bits of a gate's high word we keep: handler high half, P, DPL and type. */
    static final int GATE_HIGH_KEPT = 0xFFFFEF00;

    /** The system call vector this host lets a guest have (lguest's syscall_vector). */
    static final int HOST_SYSCALL_VECTOR = Lguest.SYSCALL_VECTOR;

    /** Most kernel stack pages a guest may ask us to keep mapped. */
    static final int MAX_STACK_PAGES = 2;

    /** EFLAGS bits the CPU clears on entering any handler (IF is handled apart). */
    private static final int CLEARED_ON_ENTRY = X86.TF | X86.NT | X86.RF | X86.VM;

    private static final int PAGE_SIZE = 4096;

    // Every implementation of each collaborator is bound (MULTIPLE), and the slot uses
    // the one a greedy unary reference would: with a unary reference, an instance
    // activated while the best candidate was being stopped (two swaps at once) stayed
    // without it for good, though another was registered ("trap delivery without page
    // table service" in the concurrent swap test; see ServiceSlot).
    private final ServiceSlot<SegmentManager> segmentManager = new ServiceSlot<>("segment");
    private final ServiceSlot<ShadowPageTables> pageTables = new ServiceSlot<>("page table");

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindSegmentManager(SegmentManager service, Map<String, Object> properties) {
        segmentManager.bind(service, properties);
    }

    void unbindSegmentManager(SegmentManager service) {
        segmentManager.unbind(service);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindPageTables(ShadowPageTables service, Map<String, Object> properties) {
        pageTables.bind(service, properties);
    }

    void unbindPageTables(ShadowPageTables service) {
        pageTables.unbind(service);
    }

    /**
     * Deactivation comes before the framework unbinds the collaborators, and a guest
     * may be in the middle of a trap delivery on this instance right then: that
     * delivery finishes with what the slots hold now, which a retired slot keeps.
     */
    @Deactivate
    void deactivate() {
        segmentManager.retire();
        pageTables.retire();
    }

    /* The collaborator to use now: the bound one, or, once retired, the one it had then. */
    private SegmentManager segmentsNow() {
        return segmentManager.get();
    }

    private ShadowPageTables pageTablesNow() {
        return pageTables.get();
    }

    /** How long a missing collaborator is waited for (the gap of a swap); tests shorten it. */
    long swapWaitNanos = java.util.concurrent.TimeUnit.SECONDS.toNanos(SwapGap.WAIT_SECONDS);

    void setSegmentManager(SegmentManager service) {
        segmentManager.set(service);
    }

    void setPageTables(ShadowPageTables service) {
        pageTables.set(service);
    }

    // ---- the IDT entry format: handler split in two halves, type and present bits ----

    static int handlerAddress(int low, int high) {
        return (low & 0x0000FFFF) | (high & 0xFFFF0000);
    }

    static int gateType(int high) {
        return (high >>> 8) & 0xF;
    }

    static boolean isPresent(int high) {
        return (high & 0x8000) != 0;
    }

    // ---- delivering ----

    @Override
    public boolean deliverTrap(Guest guest, int vector, boolean hasErrorCode, int errorCode) {
        // The switcher may report impossible vectors (a fault inside itself).
        if (vector < 0 || vector >= Lguest.IDT_ENTRIES) {
            return false;
        }
        TrapState traps = guest.traps;
        int low = traps.low(vector);
        int high = traps.high(vector);
        // No handler yet (early boot) or none at all: the caller decides the guest's fate.
        if (!isPresent(high)) {
            return false;
        }
        enterHandler(guest, low, high, hasErrorCode, errorCode);
        return true;
    }

    /**
     * lguest's set_guest_interrupt(): pushes the frame a CPU would push for this gate,
     * then points the guest at the handler. Any failure kills the guest; the CPU state
     * is loaded back only if everything succeeded.
     */
    private void enterHandler(Guest guest, int low, int high, boolean hasErrorCode, int errorCode) {
        X86Cpu cpu = guest.cpu();
        // Wait out the gap of a swap (Bundle.update stops the old one before the new one starts).
        SegmentManager segments = SwapGap.await(this::segmentsNow, swapWaitNanos);
        ShadowPageTables mmu = SwapGap.await(this::pageTablesNow, swapWaitNanos);
        if (cpu == null) {
            guest.kill("no CPU to deliver a trap on");
            return;
        }
        if (segments == null || mmu == null) {
            // Nothing came within the wait: the build lost a component for good.
            guest.kill("trap delivery without " + (segments == null ? "segment" : "page table") + " service");
            return;
        }
        CpuState state = cpu.saveState();

        SegmentCache code = segments.cacheFor(guest, Lguest.KERNEL_CS);
        if (code == null || !code.isCode() || code.dpl() != Lguest.GUEST_PL) {
            guest.kill("bad kernel code segment for trap delivery");
            return;
        }

        // From ring 1 we stay on the stack we are on; from anywhere else (user mode)
        // the CPU switches to the kernel stack the guest gave with SET_STACK.
        boolean switchStacks = state.cpl() != Lguest.GUEST_PL;
        SegmentCache stack;
        int esp;
        if (switchStacks) {
            stack = segments.cacheFor(guest, guest.traps.ss1);
            if (stack == null || stack.isCode() || (stack.type() & 2) == 0 || stack.dpl() != Lguest.GUEST_PL) {
                guest.kill(String.format("bad kernel stack segment %#x", guest.traps.ss1));
                return;
            }
            esp = guest.traps.esp1;
        } else {
            stack = state.segment(SegmentRegister.SS);
            esp = state.gpr[X86.ESP];
        }

        int eflags = state.eflags;
        if (!guestInterruptsEnabled(guest)) {
            eflags &= ~X86.IF;
        }

        int[] frame = new int[7];
        int words = 0;
        if (switchStacks) {
            frame[words++] = state.segment(SegmentRegister.SS).selector();
            frame[words++] = state.gpr[X86.ESP];
        }
        frame[words++] = eflags;
        frame[words++] = state.segment(SegmentRegister.CS).selector();
        frame[words++] = state.eip;
        if (hasErrorCode) {
            frame[words++] = errorCode;
        }
        for (int i = 0; i < words; i++) {
            esp -= 4;
            int linear = stack.base() + esp;
            if (!writeVirtual32(guest, mmu, linear, frame[i])) {
                guest.kill(String.format("pushing trap frame at %#x", linear));
                return;
            }
        }

        // An interrupt gate enters with interrupts off: for our guest, that is its flag.
        if (gateType(high) == INTERRUPT_GATE && !setGuestInterrupts(guest, 0)) {
            guest.kill("Disabling interrupts");
            return;
        }

        if (switchStacks) {
            state.setSegment(SegmentRegister.SS, stack);
        }
        state.gpr[X86.ESP] = esp;
        state.setSegment(SegmentRegister.CS, code);
        state.eip = handlerAddress(low, high);
        // The real IF stays set: the guest only ever disables interrupts in lguest_data.
        state.eflags &= ~CLEARED_ON_ENTRY;
        // Entering a handler changes no mapping: a real CPU keeps its TLB.
        cpu.loadStateKeepingTlb(state);
    }

    /**
     * Writes one 32-bit word at a guest-virtual address. The translation is per page,
     * so a word straddling two pages is written a byte at a time.
     */
    private static boolean writeVirtual32(Guest guest, ShadowPageTables mmu, int linear, int value) {
        try {
            if ((linear & (PAGE_SIZE - 1)) <= PAGE_SIZE - 4) {
                long physical = mmu.guestPhysical(guest, linear);
                if (physical < 0 || !guestRangeOk(guest, physical, 4)) {
                    return false;
                }
                guest.memory.write32(physical, value);
                return true;
            }
            for (int i = 0; i < 4; i++) {
                long physical = mmu.guestPhysical(guest, linear + i);
                if (physical < 0 || !guestRangeOk(guest, physical, 1)) {
                    return false;
                }
                guest.memory.write8(physical, value >>> (8 * i));
            }
            return true;
        } catch (GuestMemoryFault fault) {
            return false;
        }
    }

    /**
     * lguest_data.irq_enabled as the guest left it. Before LGUEST_INIT there is no
     * lguest_data, and (as in lguest, whose read would fail) interrupts count as on.
     */
    private static boolean guestInterruptsEnabled(Guest guest) {
        if (guest.lguestData == 0) {
            return true;
        }
        Integer flag = readData(guest, LguestData.IRQ_ENABLED);
        return flag == null || (flag & X86.IF) != 0;
    }

    /**
     * Whether the guest can take an interrupt now: the IF bit of irq_enabled. Only
     * that bit counts: lguest_iret copies the whole EFLAGS it returns to into the
     * field, so after returning to code that had interrupts off the field holds
     * something like 0x46, which is not zero but still means "off".
     */
    private static boolean guestInterruptsOn(Guest guest) {
        Integer flag = readData(guest, LguestData.IRQ_ENABLED);
        return flag != null && (flag & X86.IF) != 0;
    }

    private static boolean setGuestInterrupts(Guest guest, int value) {
        return guest.lguestData != 0 && writeData(guest, LguestData.IRQ_ENABLED, value);
    }

    @Override
    public void maybeDeliverInterrupt(Guest guest) {
        // Until LGUEST_INIT the guest has nowhere to say what it can take.
        if (guest.lguestData == 0) {
            return;
        }
        X86Cpu cpu = guest.cpu();
        if (cpu == null) {
            return;
        }
        Integer blocked = readData(guest, LguestData.BLOCKED_INTERRUPTS);
        if (blocked == null) {
            return;
        }
        int deliverable = guest.pendingIrqs() & ~blocked;
        if (deliverable == 0) {
            return;
        }
        // Inside lguest_iret the guest restores its interrupt flag: never interrupt that.
        int eip = cpu.eip();
        if (Integer.compareUnsigned(eip, guest.noirqStart) >= 0
                && Integer.compareUnsigned(eip, guest.noirqEnd) < 0) {
            return;
        }
        if (guest.halted) {
            // HALT is the guest's "sti; hlt": it sleeps with interrupts off and
            // expects to wake with them on.
            if (!setGuestInterrupts(guest, X86.IF)) {
                guest.kill("Re-enabling interrupts");
                return;
            }
            guest.halted = false;
        } else if (!guestInterruptsOn(guest)) {
            return;
        }
        int irq = Integer.numberOfTrailingZeros(deliverable);
        int vector = Lguest.FIRST_EXTERNAL_VECTOR + irq;
        int low = guest.traps.low(vector);
        int high = guest.traps.high(vector);
        // No handler yet: the interrupt stays pending until there is one.
        if (isPresent(high)) {
            guest.clearIrq(irq);
            enterHandler(guest, low, high, false, 0);
        }
    }

    // ---- the guest's IDT ----

    @Override
    public void loadIdtEntry(Guest guest, int vector, int low, int high) {
        // NMI, double fault, the spurious vector and the hypercall trap are the
        // host's: a guest asking for them is quietly ignored, as lguest does.
        if (vector == X86.NMI || vector == X86.DF_VECTOR || vector == 15 || vector == Lguest.TRAP_ENTRY) {
            return;
        }
        if (Integer.compareUnsigned(vector, Lguest.IDT_ENTRIES) >= 0) {
            guest.kill("Setting idt entry " + Integer.toUnsignedString(vector));
            return;
        }
        TrapState traps = guest.traps;
        if (!isPresent(high)) {
            traps.set(vector, 0, 0);
            return;
        }
        int type = gateType(high);
        if (type != INTERRUPT_GATE && type != TRAP_GATE) {
            guest.kill("bad IDT type " + type);
            return;
        }
        // Only the handler, present bit, privilege and type survive. The handler
        // always runs in the guest kernel's code segment, whatever selector was given;
        // the DPL only says who may reach it with "int" (3 for the system call).
        traps.set(vector, (Lguest.KERNEL_CS << 16) | (low & 0x0000FFFF), high & GATE_HIGH_KEPT);
    }

    // ---- the kernel stack ----

    @Override
    public void setStack(Guest guest, int segment, int esp, int pages) {
        if ((segment & 3) != Lguest.GUEST_PL) {
            guest.kill("bad stack segment " + segment);
            return;
        }
        if (Integer.compareUnsigned(pages, MAX_STACK_PAGES) > 0) {
            guest.kill("bad stack pages " + Integer.toUnsignedString(pages));
            return;
        }
        TrapState traps = guest.traps;
        traps.ss1 = segment;
        traps.esp1 = esp;
        traps.stackPages = pages;
        // The IDT is untouched (the switcher copies the stack into its TSS on every
        // entry): marking it changed would rebuild the host's IDT on every context
        // switch, as lguest's guest_set_stack does not either.
        // Pinning keeps the stack mapped so a direct trap can never fault pushing its
        // frame. Without a page table service no guest can run at all, and the next one
        // to bind finds the stack in guest.traps, so there is nothing to kill for here.
        ShadowPageTables mmu = pageTablesNow();
        if (mmu != null) {
            mmu.pinStackPages(guest, esp, pages);
        }
    }

    // ---- the clock ----

    @Override
    public void setClockEvent(Guest guest, long nanos) {
        if (nanos == 0) {
            guest.clockDeadline = 0;
            return;
        }
        long deadline = System.nanoTime() + Math.max(nanos, 0);
        // 0 means "stopped", so a deadline that lands exactly there moves by a nanosecond.
        guest.clockDeadline = deadline == 0 ? 1 : deadline;
    }

    // ---- direct traps ----

    @Override
    public boolean isDirectTrap(Guest guest, int vector) {
        // Only the system call goes straight to the guest. Everything below 32 the
        // host sees first (page faults, #GP for in/out, #NM for lazy FPU, ...), the
        // rest are interrupts, and 0x1f is the hypercall.
        if (vector < Lguest.FIRST_EXTERNAL_VECTOR || vector >= Lguest.IDT_ENTRIES
                || vector == Lguest.TRAP_ENTRY || vector != guest.syscallVector) {
            return false;
        }
        // An interrupt gate would turn off the real IF, which the guest may never do.
        int high = guest.traps.high(vector);
        return isPresent(high) && gateType(high) == TRAP_GATE;
    }

    @Override
    public boolean checkSyscallVector(Guest guest) {
        if (guest.lguestData == 0) {
            return false;
        }
        Integer vector = readData(guest, LguestData.SYSCALL_VEC);
        return vector != null && vector == HOST_SYSCALL_VECTOR;
    }

    // ---- lguest_data access ----

    /** A word of lguest_data, or null if the guest put lguest_data somewhere bad. */
    private static Integer readData(Guest guest, int offset) {
        long address = Integer.toUnsignedLong(guest.lguestData) + offset;
        if (!guestRangeOk(guest, address, 4)) {
            return null;
        }
        try {
            return guest.memory.read32(address);
        } catch (GuestMemoryFault fault) {
            return null;
        }
    }

    private static boolean writeData(Guest guest, int offset, int value) {
        long address = Integer.toUnsignedLong(guest.lguestData) + offset;
        if (!guestRangeOk(guest, address, 4)) {
            return false;
        }
        try {
            guest.memory.write32(address, value);
            return true;
        } catch (GuestMemoryFault fault) {
            return false;
        }
    }

    /** lguest_address_ok(): below the guest's frame limit, no wrap, inside its memory. */
    static boolean guestRangeOk(Guest guest, long address, long length) {
        long end = address + length;
        return address >= 0 && end >= address && end <= Integer.toUnsignedLong(guest.pfnLimit) * PAGE_SIZE
                && guest.memory.contains(address, length);
    }
}
