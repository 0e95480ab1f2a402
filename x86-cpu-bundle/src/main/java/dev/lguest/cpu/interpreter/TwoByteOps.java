// The two-byte opcode map (0F xx) of the i686: near Jcc, SETcc, CMOVcc, MOVZX/MOVSX,
// the bit instructions, SHLD/SHRD, IMUL, CMPXCHG/CMPXCHG8B, XADD, BSWAP, FS/GS pushes
// and pops, and the system instructions handed on to SystemOps.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.CF;
import static dev.lguest.api.cpu.X86.EAX;
import static dev.lguest.api.cpu.X86.EBX;
import static dev.lguest.api.cpu.X86.ECX;
import static dev.lguest.api.cpu.X86.EDX;
import static dev.lguest.api.cpu.X86.ESP;
import static dev.lguest.api.cpu.X86.ZF;

final class TwoByteOps {
    private final Executor x;
    private final InterpreterCpu cpu;

    TwoByteOps(Executor executor) {
        this.x = executor;
        this.cpu = executor.cpu;
    }

    void execute() {
        int op = x.in.opcode & 0xff;
        switch (op) {
            case 0x00 -> x.system.group6();
            case 0x01 -> x.system.group7();
            case 0x06 -> x.system.clearTaskSwitched();
            case 0x02 -> x.system.loadAccessRights();
            case 0x03 -> x.system.loadSegmentLimit();
            case 0x08, 0x09 -> x.requirePrivilege0(); // INVD, WBINVD: no caches to flush
            case 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f -> {
                // Hint NOPs: the operand is decoded but never accessed, so nothing faults.
            }
            case 0x0b -> throw CpuFault.invalidOpcode(); // UD2
            case 0x20, 0x21, 0x22, 0x23 -> x.system.moveControlOrDebug(op);
            case 0x30, 0x32 -> {
                // WRMSR, RDMSR: this CPU has no model-specific registers.
                throw CpuFault.generalProtection(0);
            }
            case 0x31 -> x.system.readTimeStampCounter();
            case 0x34, 0x35 -> {
                // SYSENTER with IA32_SYSENTER_CS zero, SYSEXIT outside ring 0 (or with it
                // zero): #GP(0). This CPU has no MSRs, and lguest zeroes that one before
                // it runs a guest, so that a guest program's SYSENTER can never jump
                // into the host's kernel; an i686 under lguest answers #GP, not #UD.
                throw CpuFault.generalProtection(0);
            }
            case 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
                 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f -> {
                int size = x.operandSize();
                int value = x.readRm(size); // read (and able to fault) whatever the condition
                if (cpu.alu.condition(op & 15)) {
                    cpu.setReg(x.in.reg, size, value);
                }
            }
            case 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
                 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f -> {
                if (cpu.alu.condition(op & 15)) {
                    x.jumpTo(x.next + x.in.immediate);
                }
            }
            case 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
                 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f ->
                    x.writeRm(1, cpu.alu.condition(op & 15) ? 1 : 0);
            case 0xa0 -> cpu.push(cpu.segments.cache[Segments.FS].selector(), x.operandSize());
            case 0xa8 -> cpu.push(cpu.segments.cache[Segments.GS].selector(), x.operandSize());
            case 0xa1, 0xa9 -> {
                int size = x.operandSize();
                int selector = cpu.peek(0, size) & 0xffff;
                x.loadSegment(op == 0xa1 ? Segments.FS : Segments.GS, selector);
                cpu.gpr[ESP] = cpu.stackPointerPlus(cpu.gpr[ESP], size);
            }
            case 0xa2 -> x.system.cpuid();
            case 0xa3, 0xab, 0xb3, 0xbb -> bitTest((op >>> 3) & 3, cpu.reg(x.in.reg, x.operandSize()), true);
            case 0xba -> {
                if (x.in.reg < 4) {
                    throw CpuFault.invalidOpcode();
                }
                bitTest(x.in.reg & 3, x.in.immediate & 0xff, false);
            }
            case 0xa4, 0xa5, 0xac, 0xad -> {
                int size = x.operandSize();
                int count = (op & 1) == 0 ? x.in.immediate & 0xff : cpu.gpr[ECX] & 0xff;
                int destination = x.readForUpdate(size);
                int result = cpu.alu.doubleShift(op < 0xa8, destination, cpu.reg(x.in.reg, size), count, size);
                x.writeBack(size, result);
            }
            case 0xaf -> {
                int size = x.operandSize();
                cpu.setReg(x.in.reg, size, x.multiplySigned(cpu.reg(x.in.reg, size), x.readRm(size), size));
            }
            case 0xb0, 0xb1 -> compareExchange(x.sizeOf(op));
            case 0xb2 -> x.loadFarPointer(Segments.SS);
            case 0xb4 -> x.loadFarPointer(Segments.FS);
            case 0xb5 -> x.loadFarPointer(Segments.GS);
            case 0xb6, 0xb7 -> {
                int sourceSize = op == 0xb6 ? 1 : 2;
                cpu.setReg(x.in.reg, x.operandSize(), x.readRm(sourceSize));
            }
            case 0xbe, 0xbf -> {
                int sourceSize = op == 0xbe ? 1 : 2;
                cpu.setReg(x.in.reg, x.operandSize(), Alu.signExtend(x.readRm(sourceSize), sourceSize));
            }
            case 0xbc, 0xbd -> bitScan(op == 0xbc);
            case 0xc0, 0xc1 -> {
                int size = x.sizeOf(op);
                int destination = x.readForUpdate(size);
                int source = cpu.reg(x.in.reg, size);
                int sum = cpu.alu.add(destination, source, 0, size);
                cpu.setReg(x.in.reg, size, destination);
                x.writeBack(size, sum);
            }
            case 0xc7 -> compareExchange8Bytes();
            case 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf -> {
                int r = op & 7;
                cpu.gpr[r] = Integer.reverseBytes(cpu.gpr[r]);
            }
            default -> throw CpuFault.invalidOpcode();
        }
    }

    /**
     * BT, BTS, BTR, BTC (action 0-3). With a register bit offset and a memory operand,
     * the offset is signed and may reach outside the addressed word.
     */
    private void bitTest(int action, int bitOffset, boolean registerOffset) {
        int size = x.operandSize();
        int bits = size * 8;
        if (x.in.mod == 3 || !registerOffset) {
            int bit = bitOffset & (bits - 1);
            int value = action == 0 ? x.readRm(size) : x.readForUpdate(size);
            setCarry(((value >>> bit) & 1) != 0);
            if (action != 0) {
                x.writeBack(size, modify(action, value, bit));
            }
            return;
        }
        int signedOffset = Alu.signExtend(bitOffset, size);
        int address = x.effectiveAddress() + (signedOffset >> (size == 4 ? 5 : 4)) * size;
        if (!x.in.address32) {
            address &= 0xffff;
        }
        int bit = signedOffset & (bits - 1);
        int segment = x.in.segment();
        if (action == 0) {
            setCarry(((cpu.read(segment, address, size) >>> bit) & 1) != 0);
            return;
        }
        int linear = cpu.segments.linearForWrite(segment, address, size);
        int value = cpu.memory.read(linear, size, cpu.accessKind | LinearMemory.WRITE);
        cpu.memory.write(linear, size, modify(action, value, bit), cpu.accessKind);
        setCarry(((value >>> bit) & 1) != 0);
    }

    private static int modify(int action, int value, int bit) {
        return switch (action) {
            case 1 -> value | (1 << bit);
            case 2 -> value & ~(1 << bit);
            default -> value ^ (1 << bit);
        };
    }

    private void setCarry(boolean carry) {
        cpu.setEflags(carry ? cpu.eflags() | CF : cpu.eflags() & ~CF);
    }

    private void bitScan(boolean forward) {
        int size = x.operandSize();
        int value = x.readRm(size) & Alu.mask(size);
        if (value == 0) {
            cpu.setEflags(cpu.eflags() | ZF);
            return;
        }
        cpu.setEflags(cpu.eflags() & ~ZF);
        int index = forward ? Integer.numberOfTrailingZeros(value) : 31 - Integer.numberOfLeadingZeros(value);
        cpu.setReg(x.in.reg, size, index);
    }

    private void compareExchange(int size) {
        int destination = x.readForUpdate(size);
        int accumulator = cpu.reg(EAX, size);
        cpu.alu.sub(accumulator, destination, 0, size);
        if ((cpu.eflags() & ZF) != 0) {
            x.writeBack(size, cpu.reg(x.in.reg, size));
        } else {
            // The destination is written back unchanged, as the locked bus cycle does.
            x.writeBack(size, destination);
            cpu.setReg(EAX, size, destination);
        }
    }

    private void compareExchange8Bytes() {
        if (x.in.reg != 1 || x.in.mod == 3) {
            throw CpuFault.invalidOpcode();
        }
        int address = x.effectiveAddress();
        int segment = x.in.segment();
        int lowLinear = cpu.segments.linearForWrite(segment, address, 4);
        int highLinear = cpu.segments.linearForWrite(segment, x.in.address32 ? address + 4 : (address + 4) & 0xffff, 4);
        cpu.segments.checkAlignment(lowLinear, 8); // a quadword: 8-byte aligned, not 4
        int kind = cpu.accessKind | LinearMemory.WRITE;
        int low = cpu.memory.read(lowLinear, 4, kind);
        int high = cpu.memory.read(highLinear, 4, kind);
        if (low == cpu.gpr[EAX] && high == cpu.gpr[EDX]) {
            cpu.memory.write(lowLinear, 4, cpu.gpr[EBX], cpu.accessKind);
            cpu.memory.write(highLinear, 4, cpu.gpr[ECX], cpu.accessKind);
            cpu.setEflags(cpu.eflags() | ZF);
        } else {
            cpu.memory.write(lowLinear, 4, low, cpu.accessKind);
            cpu.memory.write(highLinear, 4, high, cpu.accessKind);
            cpu.gpr[EAX] = low;
            cpu.gpr[EDX] = high;
            cpu.setEflags(cpu.eflags() & ~ZF);
        }
    }
}
