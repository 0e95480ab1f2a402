package dev.lguest.switcher;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.debug.StoppedGuest;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.memory.GuestMemory;

/**
 * A guest stopped for the debugger, as the switcher hands it over. Its thread waits
 * without the CPU lock (a CPU swap may move the guest meanwhile), so each access takes
 * the lock and reads the CPU the guest has now, or the registers it was parked with.
 * Memory is the debugger's to read through guest.memory, which holds only the guest's
 * RAM; this class only translates.
 */
final class DebugStop implements StoppedGuest {
    private final Guest guest;
    private final GuestSlot slot;
    private final Collaborators collaborators;

    DebugStop(Guest guest, GuestSlot slot, Collaborators collaborators) {
        this.guest = guest;
        this.slot = slot;
        this.collaborators = collaborators;
    }

    @Override
    public CpuState state() {
        slot.cpuLock.lock();
        try {
            X86Cpu cpu = guest.cpu();
            if (cpu != null) {
                return cpu.saveState();
            }
            return slot.parked == null ? new CpuState() : slot.parked.copy();
        } finally {
            slot.cpuLock.unlock();
        }
    }

    @Override
    public void setState(CpuState state) {
        slot.cpuLock.lock();
        try {
            X86Cpu cpu = guest.cpu();
            if (cpu != null) {
                cpu.loadState(state);
                // loadState flushed the TLB; CR3 is in the state, so nothing to reload.
            } else if (slot.parked != null) {
                slot.parked = state.copy();
            }
        } finally {
            slot.cpuLock.unlock();
        }
    }

    /**
     * The walk the guest's own CPU would do through the guest's page directory (not
     * the shadow). Done here rather than by the MMU component, which kills a guest whose
     * tables point outside its memory: a debugger looking must not kill anything, so
     * such an entry is simply nothing mapped.
     */
    @Override
    public long guestPhysical(int virtualAddress) {
        GuestMemory memory = guest.memory;
        long directory = Integer.toUnsignedLong(guest.paging.guestPgdir) & X86.PTE_FRAME & 0xffffffffL;
        long pdeAddress = directory + 4L * (virtualAddress >>> 22);
        if (!memory.contains(pdeAddress, 4)) {
            return -1;
        }
        int pde = memory.read32(pdeAddress);
        if ((pde & X86.PTE_PRESENT) == 0) {
            return -1;
        }
        if ((pde & X86.PTE_PSE) != 0) {
            // A 4 MB page (lguest's guests have none, but a debugger may look anyway).
            return (Integer.toUnsignedLong(pde) & 0xffc00000L) | (virtualAddress & 0x3fffff);
        }
        long pteAddress = (Integer.toUnsignedLong(pde) & 0xfffff000L) + 4L * ((virtualAddress >>> 12) & 0x3ff);
        if (!memory.contains(pteAddress, 4)) {
            return -1;
        }
        int pte = memory.read32(pteAddress);
        if ((pte & X86.PTE_PRESENT) == 0) {
            return -1;
        }
        return (Integer.toUnsignedLong(pte) & 0xfffff000L) | (virtualAddress & 0xfff);
    }
}
