// The x87 as far as this CPU goes so far: FNINIT, FNCLEX, FNSTCW, FLDCW, FNSTSW and
// FWAIT, working directly on the 108-byte FSAVE image kept in the state (control word
// at offset 0, status word at 4, tag word at 8), so the image round-trips untouched.
// CR0.EM or CR0.TS make every x87 opcode raise #NM first, which is how a kernel
// switches FPU state lazily; other x87 opcodes are #UD until they are written.
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.X86;

final class X87Minimal {
    private static final int CONTROL = 0, STATUS = 4, TAG = 8;

    private X87Minimal() {
    }

    /** The state FNINIT leaves: all exceptions masked, round to nearest, 64-bit precision. */
    static void initialize(byte[] image) {
        put16(image, CONTROL, 0x037f);
        put16(image, STATUS, 0);
        put16(image, TAG, 0xffff);
        for (int i = 12; i < 28; i++) {
            image[i] = 0; // instruction and operand pointers
        }
    }

    static void waitInstruction(InterpreterCpu cpu) {
        if ((cpu.cr0 & (X86.CR0_TS | X86.CR0_MP)) == (X86.CR0_TS | X86.CR0_MP)) {
            throw CpuFault.of(X86.NM, 0);
        }
    }

    static void execute(Executor x) {
        InterpreterCpu cpu = x.cpu;
        Instruction in = x.in;
        if ((cpu.cr0 & (X86.CR0_EM | X86.CR0_TS)) != 0) {
            throw CpuFault.of(X86.NM, 0);
        }
        int op = in.opcode;
        if (in.mod == 3) {
            if (op == 0xdb && in.reg == 4 && in.rm == 3) {
                initialize(cpu.fpu);
            } else if (op == 0xdb && in.reg == 4 && in.rm == 2) {
                // FNCLEX: clear the exception flags, the summary and busy bits.
                put16(cpu.fpu, STATUS, get16(cpu.fpu, STATUS) & 0x7f00);
            } else if (op == 0xdf && in.reg == 4 && in.rm == 0) {
                cpu.setReg(X86.EAX, 2, get16(cpu.fpu, STATUS));
            } else {
                throw CpuFault.invalidOpcode();
            }
            return;
        }
        if (op == 0xd9 && in.reg == 7) {
            x.writeRm(2, get16(cpu.fpu, CONTROL));
        } else if (op == 0xd9 && in.reg == 5) {
            put16(cpu.fpu, CONTROL, x.readRm(2));
        } else if (op == 0xdd && in.reg == 7) {
            x.writeRm(2, get16(cpu.fpu, STATUS));
        } else {
            throw CpuFault.invalidOpcode();
        }
    }

    private static int get16(byte[] image, int offset) {
        return (image[offset] & 0xff) | ((image[offset + 1] & 0xff) << 8);
    }

    private static void put16(byte[] image, int offset, int value) {
        image[offset] = (byte) value;
        image[offset + 1] = (byte) (value >>> 8);
    }
}
