package dev.lguest.debugger;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.debug.StoppedGuest;
import dev.lguest.api.memory.GuestMemory;

import java.util.HashMap;
import java.util.Map;

/**
 * The breakpoints gdb inserted into one guest. Software ones (Z0) are an INT3 byte
 * (0xCC) written over the instruction's first byte in guest memory, the original kept
 * here, shown to gdb in its place when it reads memory and put back on removal.
 * Hardware ones (Z1) and watchpoints (Z2 write, Z3 read, Z4 access) take one of the
 * four debug registers each, with DR7 enabling them: the host owns the debug
 * registers (a guest at ring 1 cannot load them, and lguest's guest never did: 2.6.24's
 * lguest_set_debugreg is an empty stub), so they are all ours.
 *
 * A software breakpoint at an address the guest has not mapped yet (a kernel function
 * before the kernel has built its page tables: gdb's `break start_kernel` at the first
 * instruction) cannot be written; it takes a debug register instead, which compares
 * linear addresses and so fires once the mapping exists.
 */
final class Breakpoints {
    static final int INT3 = 0xcc;

    /** gdb's Z types. */
    static final int SOFTWARE = 0, HARDWARE = 1, WRITE_WATCH = 2, READ_WATCH = 3, ACCESS_WATCH = 4;

    private record Software(long physical, byte original) {
    }

    /** A debug register in use: what gdb asked for. */
    record Slot(int type, int address, int length) {
    }

    private final GuestMemory memory;
    private final Map<Integer, Software> software = new HashMap<>();
    private final Slot[] slots = new Slot[4];

    Breakpoints(GuestMemory memory) {
        this.memory = memory;
    }

    synchronized boolean isSoftware(int address) {
        return software.containsKey(address);
    }

    /** Writes INT3 at a guest-virtual address; false if it maps to nothing of the guest's. */
    synchronized boolean insertSoftware(StoppedGuest guest, int address) {
        if (software.containsKey(address)) {
            return true;
        }
        long physical = guest.guestPhysical(address);
        if (physical < 0 || !memory.contains(physical, 1)) {
            return takeSlot(SOFTWARE, address, 1);
        }
        software.put(address, new Software(physical, (byte) memory.read8(physical)));
        memory.write8(physical, INT3);
        return true;
    }

    synchronized boolean removeSoftware(int address) {
        Software s = software.remove(address);
        if (s == null) {
            return removeHardware(SOFTWARE, address);
        }
        memory.write8(s.physical, s.original);
        return true;
    }

    /**
     * Takes a debug register for a Z1-Z4 request; false when all four are in use or the
     * length is not one a debug register can watch (1, 2 or 4 bytes, aligned to it).
     */
    synchronized boolean insertHardware(int type, int address, int length) {
        if (type == HARDWARE) {
            length = 1;
        } else if ((length != 1 && length != 2 && length != 4) || (address & (length - 1)) != 0) {
            return false;
        }
        return takeSlot(type, address, length);
    }

    private boolean takeSlot(int type, int address, int length) {
        for (Slot s : slots) {
            if (s != null && s.type == type && s.address == address && s.length == length) {
                return true;
            }
        }
        for (int n = 0; n < 4; n++) {
            if (slots[n] == null) {
                slots[n] = new Slot(type, address, length);
                return true;
            }
        }
        return false;
    }

    synchronized boolean removeHardware(int type, int address) {
        for (int n = 0; n < 4; n++) {
            if (slots[n] != null && slots[n].type == type && slots[n].address == address) {
                slots[n] = null;
                return true;
            }
        }
        return false;
    }

    /** The debug registers as the slots say: DR0-DR3, DR7, and DR6 cleared for the next hit. */
    synchronized void program(CpuState s) {
        int dr7 = 0;
        for (int n = 0; n < 4; n++) {
            Slot slot = slots[n];
            s.debugRegisters[n] = slot == null ? 0 : slot.address;
            if (slot != null) {
                int kind = switch (slot.type) {
                    case SOFTWARE, HARDWARE -> X86.DR7_RW_EXECUTE;
                    case WRITE_WATCH -> X86.DR7_RW_WRITE;
                    default -> X86.DR7_RW_READ_WRITE;
                };
                dr7 |= X86.dr7Fields(n, kind, slot.length);
            }
        }
        s.debugRegisters[7] = dr7;
        s.debugRegisters[6] = 0;
    }

    /** The slot whose B bit DR6 has set, or null. */
    synchronized Slot hit(int dr6) {
        for (int n = 0; n < 4; n++) {
            if ((dr6 & (X86.DR6_B0 << n)) != 0 && slots[n] != null) {
                return slots[n];
            }
        }
        return null;
    }

    /** Shows the original bytes under software breakpoints in memory read at guest-physical {@code physical}. */
    synchronized void shadow(long physical, byte[] data, int offset, int length) {
        for (Software s : software.values()) {
            long at = s.physical - physical;
            if (at >= 0 && at < length) {
                data[offset + (int) at] = s.original;
            }
        }
    }

    /**
     * A byte gdb writes where a software breakpoint sits becomes the breakpoint's
     * original (the INT3 stays); true if so, and the caller writes nothing there.
     */
    synchronized boolean writeUnder(long physical, byte value) {
        for (Map.Entry<Integer, Software> e : software.entrySet()) {
            if (e.getValue().physical == physical) {
                e.setValue(new Software(physical, value));
                return true;
            }
        }
        return false;
    }

    /** Every breakpoint gone: originals back, debug registers off (detach, kill). */
    synchronized void clear(CpuState s) {
        for (Software b : software.values()) {
            if (memory.contains(b.physical, 1) && (memory.read8(b.physical) & 0xff) == INT3) {
                memory.write8(b.physical, b.original);
            }
        }
        software.clear();
        java.util.Arrays.fill(slots, null);
        if (s != null) {
            program(s);
        }
    }
}
