// System instructions: descriptor-table registers (LGDT/SGDT/LIDT/SIDT/LLDT/SLDT/LTR/
// STR), control and debug registers, CLTS/LMSW/SMSW, INVLPG, CPUID, RDTSC, port I/O
// with the IOPL and TSS I/O-bitmap checks, LAR/LSL/VERR/VERW, and the BCD adjusts. The
// privileged ones raise #GP(0) outside CPL 0, which is how a paravirtual kernel at
// CPL 1 gets caught by its hypervisor.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.AF;
import static dev.lguest.api.cpu.X86.CF;
import static dev.lguest.api.cpu.X86.EAX;
import static dev.lguest.api.cpu.X86.EBX;
import static dev.lguest.api.cpu.X86.ECX;
import static dev.lguest.api.cpu.X86.EDX;
import static dev.lguest.api.cpu.X86.ZF;

import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.X86;

final class SystemOps {
    /** CR4 bits this CPU accepts: TSD, DE, PSE (ignored), MCE, PGE (ignored), PCE. */
    private static final int CR4_ACCEPTED = (1 << 2) | (1 << 3) | (1 << 4) | (1 << 6) | (1 << 7) | (1 << 8);
    private static final int CR4_TSD = 1 << 2;
    /** CPUID.1:EDX: FPU, TSC, CX8, CMOV. No PSE, PGE or anything this CPU does not do. */
    private static final int FEATURES = 1 | (1 << 4) | (1 << 8) | (1 << 15);
    /** Family 6, model 5, stepping 2: a Pentium II class i686. */
    private static final int SIGNATURE = 0x0652;

    private final Executor x;
    private final InterpreterCpu cpu;

    SystemOps(Executor executor) {
        this.x = executor;
        this.cpu = executor.cpu;
    }

    // ---- 0F 00: SLDT, STR, LLDT, LTR, VERR, VERW ----

    void group6() {
        switch (x.in.reg) {
            case 0 -> x.writeRm(x.in.mod == 3 ? x.operandSize() : 2, cpu.ldtr.selector());
            case 1 -> x.writeRm(x.in.mod == 3 ? x.operandSize() : 2, cpu.tr.selector());
            case 2 -> {
                x.requirePrivilege0();
                loadLdt(x.readRm(2));
            }
            case 3 -> {
                x.requirePrivilege0();
                loadTaskRegister(x.readRm(2));
            }
            case 4, 5 -> verify(x.readRm(2), x.in.reg == 5);
            default -> throw CpuFault.invalidOpcode();
        }
    }

    private void loadLdt(int selector) {
        if ((selector & 0xfffc) == 0) {
            cpu.ldtr = new SegmentCache(selector, 0, 0, 0);
            return;
        }
        if ((selector & 4) != 0) {
            throw CpuFault.generalProtection(selector & 0xfffc);
        }
        long d = cpu.segments.readDescriptor(selector, X86.GP);
        SegmentCache c = Segments.decode(selector, d);
        if (c.isCodeOrData() || c.type() != 2) {
            throw CpuFault.generalProtection(selector & 0xfffc);
        }
        if (!c.present()) {
            throw CpuFault.notPresent(selector & 0xfffc);
        }
        cpu.ldtr = c;
    }

    private void loadTaskRegister(int selector) {
        if ((selector & 0xfffc) == 0) {
            throw CpuFault.generalProtection(0);
        }
        if ((selector & 4) != 0) {
            throw CpuFault.generalProtection(selector & 0xfffc);
        }
        long d = cpu.segments.readDescriptor(selector, X86.GP);
        SegmentCache c = Segments.decode(selector, d);
        if (c.isCodeOrData() || (c.type() != 9 && c.type() != 1)) {
            throw CpuFault.generalProtection(selector & 0xfffc);
        }
        if (!c.present()) {
            throw CpuFault.notPresent(selector & 0xfffc);
        }
        // LTR marks the TSS busy in the GDT.
        int address = cpu.segments.descriptorAddress(selector, X86.GP);
        cpu.memory.write32(address + 4, (int) (d >>> 32) | 0x200, LinearMemory.READ);
        cpu.tr = new SegmentCache(selector, c.base(), c.limit(), c.attributes() | 2);
    }

    /**
     * The descriptor LAR, LSL, VERR and VERW look at, with its raw words, or null when
     * there is none they may see: a null selector, one beyond its table's limit (or into
     * a missing LDT), or a segment other than conforming code whose DPL is below the CPL
     * or the selector's RPL. None of these fault; only a page fault on the table does.
     */
    private long[] visibleDescriptor(int selector) {
        if ((selector & 0xfffc) == 0) {
            return null;
        }
        long d;
        try {
            d = cpu.segments.readDescriptor(selector, X86.GP);
        } catch (CpuFault outsideTable) {
            if (outsideTable.vector == X86.PF_VECTOR) {
                throw outsideTable;
            }
            return null;
        }
        SegmentCache c = Segments.decode(selector, d);
        boolean conformingCode = c.isCode() && (c.type() & 4) != 0;
        if (!conformingCode && (c.dpl() < cpu.cpl || c.dpl() < (selector & 3))) {
            return null;
        }
        return new long[] {d};
    }

    private void setZero(boolean zero) {
        cpu.setEflags(zero ? cpu.eflags() | ZF : cpu.eflags() & ~ZF);
    }

    /** LAR: the access-rights bytes of the descriptor's high word (type, S, DPL, P, limit 19:16, AVL, D/B, G). */
    void loadAccessRights() {
        int selector = x.readRm(2);
        long[] found = visibleDescriptor(selector);
        if (found != null) {
            int high = (int) (found[0] >>> 32);
            boolean system = (high & (1 << 12)) == 0;
            int type = (high >>> 8) & 0xf;
            // System types LAR reports: TSSs (available and busy), LDT, call and task gates.
            boolean valid = !system || type == 1 || type == 2 || type == 3 || type == 4 || type == 5 || type == 9
                    || type == 0xb || type == 0xc;
            if (valid) {
                cpu.setReg(x.in.reg, x.operandSize(), x.in.operand32 ? high & 0x00ffff00 : high & 0xff00);
                setZero(true);
                return;
            }
        }
        setZero(false);
    }

    /** LSL: the segment's byte limit, granularity applied. Gates have no limit. */
    void loadSegmentLimit() {
        int selector = x.readRm(2);
        long[] found = visibleDescriptor(selector);
        if (found != null) {
            SegmentCache c = Segments.decode(selector, found[0]);
            int type = c.type();
            boolean valid = c.isCodeOrData() || type == 1 || type == 2 || type == 3 || type == 9 || type == 0xb;
            if (valid) {
                cpu.setReg(x.in.reg, x.operandSize(), c.limit());
                setZero(true);
                return;
            }
        }
        setZero(false);
    }

    /** VERR and VERW: could this selector be loaded and read (written) from here? */
    private void verify(int selector, boolean forWrite) {
        long[] found = visibleDescriptor(selector);
        boolean ok = false;
        if (found != null) {
            SegmentCache c = Segments.decode(selector, found[0]);
            int type = c.type();
            ok = forWrite ? c.isCodeOrData() && !c.isCode() && (type & 2) != 0
                    : c.isCodeOrData() && (!c.isCode() || (type & 2) != 0);
        }
        setZero(ok);
    }

    // ---- 0F 01: SGDT, SIDT, LGDT, LIDT, SMSW, LMSW, INVLPG ----

    void group7() {
        int reg = x.in.reg;
        if (x.in.mod == 3 && (reg < 4 || reg == 7)) {
            throw CpuFault.invalidOpcode();
        }
        switch (reg) {
            case 0, 1 -> {
                int address = x.effectiveAddress();
                int limit = reg == 0 ? cpu.gdtLimit : cpu.idtLimit;
                int base = reg == 0 ? cpu.gdtBase : cpu.idtBase;
                if (!x.in.operand32) {
                    base &= 0x00ffffff;
                }
                int segment = x.in.segment();
                // Check both parts before writing either.
                cpu.segments.linearForWrite(segment, address, 2);
                cpu.segments.linearForWrite(segment, address + 2, 4);
                cpu.memory.probeWrite(cpu.segments.base[segment] + address, 6, cpu.accessKind);
                cpu.write(segment, address, 2, limit);
                cpu.write(segment, address + 2, 4, base);
            }
            case 2, 3 -> {
                x.requirePrivilege0();
                int address = x.effectiveAddress();
                int limit = cpu.read(x.in.segment(), address, 2);
                int base = cpu.read(x.in.segment(), address + 2, 4);
                if (!x.in.operand32) {
                    base &= 0x00ffffff;
                }
                if (reg == 2) {
                    cpu.gdtLimit = limit;
                    cpu.gdtBase = base;
                } else {
                    cpu.idtLimit = limit;
                    cpu.idtBase = base;
                }
            }
            case 4 -> x.writeRm(x.in.mod == 3 ? x.operandSize() : 2, cpu.cr0);
            case 6 -> {
                x.requirePrivilege0();
                int value = x.readRm(2);
                // LMSW sets PE, MP, EM, TS but can never clear PE.
                int changeable = X86.CR0_MP | X86.CR0_EM | X86.CR0_TS;
                cpu.cr0 = (cpu.cr0 & ~changeable) | (value & (changeable | X86.CR0_PE));
                cpu.pagingChanged();
            }
            case 7 -> {
                x.requirePrivilege0();
                int linear = cpu.segments.base[x.in.segment()] + x.effectiveAddress();
                cpu.invalidatePage(linear);
            }
            default -> throw CpuFault.invalidOpcode();
        }
    }

    void clearTaskSwitched() {
        x.requirePrivilege0();
        cpu.cr0 &= ~X86.CR0_TS;
    }

    // ---- MOV to and from CRn and DRn ----

    void moveControlOrDebug(int op) {
        int n = x.in.reg;
        // CR1, CR5, CR6 and CR7 do not exist: the encoding is invalid, and a decode fault
        // (#UD) outranks the privilege check's #GP, at any CPL.
        if ((op == 0x20 || op == 0x22) && (n == 1 || n > 4)) {
            throw CpuFault.invalidOpcode();
        }
        x.requirePrivilege0();
        int r = x.in.rm;
        switch (op) {
            case 0x20 -> cpu.gpr[r] = switch (n) {
                case 0 -> cpu.cr0;
                case 2 -> cpu.cr2;
                case 3 -> cpu.cr3;
                case 4 -> cpu.cr4;
                default -> throw CpuFault.invalidOpcode();
            };
            case 0x22 -> writeControl(n, cpu.gpr[r]);
            case 0x21 -> cpu.gpr[r] = cpu.debugRegisters[debugIndex(n)];
            default -> {
                cpu.debugRegisters[debugIndex(n)] = cpu.gpr[r];
                cpu.debugRegistersChanged();
            }
        }
    }

    private int debugIndex(int n) {
        if (n == 4 || n == 5) {
            if ((cpu.cr4 & (1 << 3)) != 0) {
                throw CpuFault.invalidOpcode();
            }
            return n + 2; // DR4 and DR5 alias DR6 and DR7
        }
        return n;
    }

    private void writeControl(int n, int value) {
        switch (n) {
            case 0 -> {
                // This CPU has no real mode: PE stays set, and paging needs protection.
                if ((value & X86.CR0_PE) == 0) {
                    throw CpuFault.generalProtection(0);
                }
                cpu.cr0 = value | X86.CR0_ET;
                cpu.pagingChanged();
            }
            case 2 -> cpu.cr2 = value;
            case 3 -> {
                cpu.cr3 = value;
                cpu.pagingChanged();
            }
            case 4 -> {
                if ((value & ~CR4_ACCEPTED) != 0) {
                    throw CpuFault.generalProtection(0);
                }
                cpu.cr4 = value;
                cpu.pagingChanged();
            }
            default -> throw CpuFault.invalidOpcode();
        }
    }

    // ---- CPUID and RDTSC ----

    void cpuid() {
        int leaf = cpu.gpr[EAX];
        int a = 0, b = 0, c = 0, d = 0;
        if (leaf == 0) {
            a = 1;
            b = 0x756e6547; // "Genu"
            d = 0x49656e69; // "ineI"
            c = 0x6c65746e; // "ntel"
        } else if (leaf == 1) {
            a = SIGNATURE;
            d = FEATURES;
        }
        cpu.gpr[EAX] = a;
        cpu.gpr[EBX] = b;
        cpu.gpr[ECX] = c;
        cpu.gpr[EDX] = d;
    }

    void readTimeStampCounter() {
        if ((cpu.cr4 & CR4_TSD) != 0 && cpu.cpl != 0) {
            throw CpuFault.generalProtection(0);
        }
        long tsc = cpu.tscBase + cpu.retired;
        cpu.gpr[EAX] = (int) tsc;
        cpu.gpr[EDX] = (int) (tsc >>> 32);
    }

    // ---- port I/O ----

    /** CPL <= IOPL, or every bit for the ports in the TSS I/O bitmap clear; else #GP(0). */
    void checkIoPermission(int port, int size) {
        if (cpu.cpl <= ((cpu.eflags >>> 12) & 3)) {
            return;
        }
        SegmentCache tss = cpu.tr;
        long limit = tss.limit() & 0xffffffffL;
        if ((tss.selector() & 0xfffc) == 0 || limit < 103) {
            throw CpuFault.generalProtection(0);
        }
        int mapBase = cpu.memory.read16(tss.base() + 102, LinearMemory.READ);
        long byteOffset = mapBase + (port >>> 3);
        if (byteOffset + 1 > limit) {
            throw CpuFault.generalProtection(0);
        }
        int bits = cpu.memory.read16(tss.base() + (int) byteOffset, LinearMemory.READ);
        int mask = ((1 << size) - 1) << (port & 7);
        if ((bits & mask) != 0) {
            throw CpuFault.generalProtection(0);
        }
    }

    void input(int op) {
        int size = (op & 1) == 0 ? 1 : x.operandSize();
        int port = op < 0xe8 ? x.in.immediate & 0xff : cpu.gpr[EDX] & 0xffff;
        checkIoPermission(port, size);
        // No device answers on this CPU's port bus: an empty bus reads all ones.
        cpu.setReg(EAX, size, -1);
    }

    void output(int op) {
        int size = (op & 1) == 0 ? 1 : x.operandSize();
        int port = op < 0xe8 ? x.in.immediate & 0xff : cpu.gpr[EDX] & 0xffff;
        checkIoPermission(port, size);
    }

    // ---- BCD adjusts ----

    void decimalAdjust(boolean subtract) {
        int al = cpu.gpr[EAX] & 0xff;
        boolean oldCarry = cpu.alu.carry() != 0;
        boolean carry = false;
        boolean auxiliary = false;
        int result = al;
        if ((al & 0xf) > 9 || (cpu.eflags() & AF) != 0) {
            result = subtract ? result - 6 : result + 6;
            carry = oldCarry || (subtract ? al < 6 : result > 0xff);
            auxiliary = true;
        }
        if (al > 0x99 || oldCarry) {
            result = subtract ? result - 0x60 : result + 0x60;
            carry = true;
        } else if (!subtract) {
            carry = false;
        }
        result &= 0xff;
        cpu.setReg(EAX, 1, result);
        cpu.alu.setStatus(Alu.resultFlags(result, 1) | (carry ? CF : 0) | (auxiliary ? AF : 0));
    }

    void asciiAdjust(boolean subtract) {
        int ax = cpu.gpr[EAX] & 0xffff;
        boolean adjust = (ax & 0xf) > 9 || (cpu.eflags() & AF) != 0;
        if (adjust) {
            // AX - 6 is a 16-bit subtraction: AH takes the borrow out of AL, then loses one
            // more (the manual's pseudocode, and what hardware does).
            ax = subtract ? (ax - 6 - 0x100) & 0xffff : ax + 0x106;
        }
        ax = (ax & 0xff0f);
        cpu.setReg(EAX, 2, ax);
        int flags = Alu.resultFlags(ax & 0xff, 1);
        cpu.alu.setStatus(flags | (adjust ? CF | AF : 0));
    }

    void asciiAdjustMultiply(int base) {
        if (base == 0) {
            throw CpuFault.of(X86.DE, 0);
        }
        int al = cpu.gpr[EAX] & 0xff;
        int result = ((al / base) << 8) | (al % base);
        cpu.setReg(EAX, 2, result);
        cpu.alu.setStatus(Alu.resultFlags(result & 0xff, 1));
    }

    void asciiAdjustDivide(int base) {
        int ax = cpu.gpr[EAX];
        int al = ((ax & 0xff) + ((ax >>> 8) & 0xff) * base) & 0xff;
        cpu.setReg(EAX, 2, al);
        cpu.alu.setStatus(Alu.resultFlags(al, 1));
    }
}
