package dev.lguest.switcher;

import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.memory.GuestMemoryFault;
import dev.lguest.api.mmu.ShadowPageTables;

/**
 * The only instructions the host emulates: in and out.
 *
 * The guest kernel runs at ring 1 with IOPL 0, so any port I/O raises #GP. Linux
 * probes a few ports while booting; lguest's answer (emulate_insn) is to skip the
 * instruction, reading all ones for "in", as if nothing were on the bus. Only the
 * guest kernel gets this: an in or out in a ring-3 process raises the same #GP with
 * error code 0, and lguest looks at the privilege level of CS before anything else,
 * so the process's #GP goes to the guest, which Linux turns into SIGSEGV. Anything
 * else that raised #GP is the guest's problem and goes back to it.
 */
final class InstructionEmulator {
    private static final int OPERAND_SIZE_PREFIX = 0x66;

    private InstructionEmulator() {
    }

    /** Returns true if the instruction at the guest kernel's eip was an in/out and was skipped. */
    static boolean skipPortIo(Guest guest, ShadowPageTables mmu) {
        X86Cpu cpu = guest.cpu();
        SegmentCache code = cpu.saveState().segment(SegmentRegister.CS);
        if ((code.selector() & 3) != Lguest.GUEST_PL) {
            return false;
        }
        int linear = code.base() + cpu.eip();
        try {
            int length = 0;
            boolean word = false;
            int opcode = fetch(guest, mmu, linear);
            if (opcode == OPERAND_SIZE_PREFIX) {
                word = true;
                length++;
                opcode = fetch(guest, mmu, linear + 1);
            }
            if (opcode < 0) {
                return false;
            }
            boolean isIn;
            switch (opcode) {
                case 0xe4, 0xe5 -> { isIn = true; length += 2; }   // in al/eax, imm8
                case 0xec, 0xed -> { isIn = true; length += 1; }   // in al/eax, dx
                case 0xe6, 0xe7 -> { isIn = false; length += 2; }  // out imm8, al/eax
                case 0xee, 0xef -> { isIn = false; length += 1; }  // out dx, al/eax
                default -> {
                    return false;
                }
            }
            if (isIn) {
                int eax = cpu.gpr(X86.EAX);
                if ((opcode & 1) == 0) {
                    eax |= 0xff;
                } else if (word) {
                    eax |= 0xffff;
                } else {
                    eax = 0xffffffff;
                }
                cpu.setGpr(X86.EAX, eax);
            }
            cpu.setEip(cpu.eip() + length);
            return true;
        } catch (GuestMemoryFault e) {
            return false;
        }
    }

    /** One instruction byte through the guest's own page tables, or -1 if unmapped. */
    private static int fetch(Guest guest, ShadowPageTables mmu, int linear) {
        long physical = mmu.guestPhysical(guest, linear);
        return physical < 0 ? -1 : guest.memory.read8(physical);
    }
}
