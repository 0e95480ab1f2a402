package dev.lguest.switcher;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.debug.GuestDebugger;
import dev.lguest.api.events.GuestExitEvent;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.GuestStatistics.Exit;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.guest.LguestData;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.traps.TrapDelivery;

import java.util.Arrays;

/**
 * The i386 half of the switch, lguest's x86/core.c: what is copied into the CPU
 * before the guest runs (copy_in_guest_info, the TS bit), and what is done about each
 * way the guest comes back out (lguest_arch_handle_trap).
 *
 * Most exits are the guest's own business and go back to it through its IDT: only a
 * page fault our shadow tables can fix, an in or out at ring 1, a #NM the guest did
 * not ask for, the hypercall trap and host interrupts stay with the host. Whatever
 * the guest cannot take kills it, with lguest's reason.
 */
final class TrapHandler {
    private final Collaborators collaborators;

    TrapHandler(Collaborators collaborators) {
        this.collaborators = collaborators;
    }

    /**
     * The guest's TS (the TS hypercall) in the real CR0.TS, as lguest sets it before
     * entering a guest that asked for it: the guest's next FPU instruction then
     * raises #NM, which handleVector passes on to the guest. We never clear it here:
     * once the guest cleared its TS, the #NM still due comes to us and we clear it.
     */
    static void setTaskSwitched(Guest guest, X86Cpu cpu) {
        if (!guest.taskSwitched) {
            return;
        }
        if ((cpu.cr0() & X86.CR0_TS) == 0) {
            CpuState s = cpu.saveState();
            s.cr0 |= X86.CR0_TS;
            cpu.loadStateKeepingTlb(s);
        }
    }

    /** lguest's copy_in_guest_info: refresh what the guest changed since the last run. */
    static void copyInGuestInfo(Guest guest, GuestSlot slot, TrapDelivery trapService, X86Cpu cpu) {
        if (guest.segments.changed) {
            guest.segments.changed = false;
            slot.pages.copyGdt(guest);
        }
        if (guest.traps.changed) {
            guest.traps.changed = false;
            boolean[] direct = new boolean[Lguest.IDT_ENTRIES];
            long[] hostVectors = new long[4];
            for (int v = 0; v < Lguest.IDT_ENTRIES; v++) {
                direct[v] = trapService.isDirectTrap(guest, v);
                if (!direct[v] || (slot.debugRouted && (v == X86.DB || v == X86.BP))) {
                    hostVectors[v >>> 6] |= 1L << v;
                }
            }
            slot.pages.copyIdt(guest, direct);
            // Linux loads its IDT one gate per hypercall (256 at boot), and a gate
            // changes which vectors come back to the host only when the system call's
            // does: the CPU's state is loaded again (all of it, through saveState) only
            // when the routing it holds differs, or it is not the CPU that holds it.
            if (cpu != slot.routedCpu || !Arrays.equals(hostVectors, slot.hostVectors)) {
                CpuState s = cpu.saveState();
                System.arraycopy(hostVectors, 0, s.hostVectors, 0, hostVectors.length);
                cpu.loadStateKeepingTlb(s);
                slot.routedCpu = cpu;
                slot.hostVectors = hostVectors;
            }
        }
        slot.pages.setRing1Stack(guest.traps.ss1, guest.traps.esp1);
    }

    /** The hypercall exit: the guest trapped with int $0x1f; do what it asked. */
    void doHypercalls(Guest guest, SwitcherSettingsValue config) throws InterruptedException {
        guest.statistics.countExit(Exit.HYPERCALL);
        GuestExitEvent event = new GuestExitEvent();
        int number = -1;
        long eip = 0;
        X86Cpu cpu = guest.cpu();
        if (cpu != null && (event.isEnabled() || config.loggedExits() != 0)) {
            number = cpu.gpr(X86.EAX);
            eip = Integer.toUnsignedLong(cpu.eip());
        }
        event.begin();
        collaborators.await(collaborators.hypercalls).doHypercalls(guest);
        ExitLog.finishExit(guest, config, event, Exit.HYPERCALL, number, 0, eip, 0, 0);
    }

    /**
     * What the exits of a CPU run count as, or null for one counted elsewhere (int
     * $0x1f counts as HYPERCALL when the hypercall is done) or not at all (a triple fault).
     */
    static Exit kindOf(CpuExit exit) {
        return switch (exit.reason()) {
            case INTERRUPTED -> Exit.HOST_INTERRUPT;
            case BUDGET -> Exit.BUDGET;
            case SHUTDOWN -> null;
            case VECTOR -> switch (exit.vector()) {
                case X86.GP -> Exit.GENERAL_PROTECTION;
                case X86.PF_VECTOR -> Exit.PAGE_FAULT;
                case X86.NM -> Exit.DEVICE_NOT_AVAILABLE;
                case Lguest.TRAP_ENTRY -> null;
                default -> exit.vector() >= Lguest.FIRST_EXTERNAL_VECTOR ? Exit.HOST_INTERRUPT : Exit.OTHER_TRAP;
            };
        };
    }

    /**
     * lguest_arch_handle_trap: count the exit, deal with it, and (only when a recording
     * wants it, or the exit is configured to be logged) say so.
     */
    void handleExit(Guest guest, SwitcherSettingsValue config, CpuExit exit) throws InterruptedException {
        Exit kind = kindOf(exit);
        if (kind == null) {
            dispatchExit(guest, exit);
            return;
        }
        guest.statistics.countExit(kind);
        GuestExitEvent event = new GuestExitEvent();
        long eip = 0;
        if (event.isEnabled() || config.logs(kind)) {
            X86Cpu cpu = guest.cpu();
            eip = cpu == null ? 0 : Integer.toUnsignedLong(cpu.eip());
        }
        event.begin();
        dispatchExit(guest, exit);
        ExitLog.finishExit(guest, config, event, kind, exit.reason() == ExitReason.VECTOR ? exit.vector() : -1,
                exit.errorCode(), eip,
                kind == Exit.PAGE_FAULT ? Integer.toUnsignedLong(guest.lastPageFault) : 0, exit.instructions());
    }

    /** What to do about the reason the guest stopped (it is counted already). */
    private void dispatchExit(Guest guest, CpuExit exit) throws InterruptedException {
        switch (exit.reason()) {
            case INTERRUPTED, BUDGET -> {
            }
            case SHUTDOWN -> guest.kill(String.format("triple fault at %#x", guest.cpu().eip()));
            case VECTOR -> handleVector(guest, exit.vector(), exit.errorCode());
        }
    }

    private void handleVector(Guest guest, int vector, int errorCode) throws InterruptedException {
        switch (vector) {
            case X86.GP -> {
                // An in or out at ring 1: skip it, as if nothing answered.
                if (errorCode == 0 && InstructionEmulator.skipPortIo(guest, collaborators.await(collaborators.mmus))) {
                    return;
                }
            }
            case X86.PF_VECTOR -> {
                int address = guest.cpu().cr2();
                guest.lastPageFault = address;
                // Usually the guest's mapping is fine and only our shadow lacks it.
                ShadowPageTables mmu = collaborators.await(collaborators.mmus);
                if (mmu.demandPage(guest, address, errorCode)) {
                    return;
                }
                // The CPU walked our shadow, not the guest's tables, and the shadow may
                // just not have the page yet (it starts empty after an MMU swap, or a
                // flush): then it says "not present" where the guest's own CPU would
                // say "protection". The guest must see what its tables give.
                errorCode = mmu.guestPhysical(guest, address) >= 0
                        ? errorCode | X86.PF_PROT : errorCode & ~X86.PF_PROT;
                // The guest must see it: it reads the address from lguest_data.cr2.
                if (guest.lguestData != 0) {
                    guest.memory.write32(Integer.toUnsignedLong(guest.lguestData) + LguestData.CR2, address);
                }
            }
            case X86.NM -> {
                // The guest did not ask for TS: its FPU state is live, just clear TS.
                if (!guest.taskSwitched) {
                    CpuState s = guest.cpu().saveState();
                    s.cr0 &= ~X86.CR0_TS;
                    guest.cpu().loadStateKeepingTlb(s);
                    return;
                }
            }
            case Lguest.TRAP_ENTRY -> {
                guest.hypercallPending = true;
                return;
            }
            case X86.DB, X86.BP -> {
                // A breakpoint or step of the debugger's stops the guest for it; the
                // guest's own (its INT3, its TF) goes to it as if no debugger were there.
                GuestDebugger debugger = collaborators.debugger;
                if (debugger != null && debugger.isAttached(guest)
                        && debugger.claims(guest, vector, guest.cpu().saveState())) {
                    return;
                }
            }
            default -> {
                if (vector >= Lguest.FIRST_EXTERNAL_VECTOR) {
                    // A real interrupt on the host side: nothing for the guest.
                    return;
                }
            }
        }
        if (!collaborators.await(collaborators.traps).deliverTrap(guest, vector, X86.hasErrorCode(vector), errorCode)) {
            guest.kill(String.format("unhandled trap %d at %#x (%#x)", vector, guest.cpu().eip(),
                    vector == X86.PF_VECTOR ? guest.lastPageFault : errorCode));
        }
    }
}
