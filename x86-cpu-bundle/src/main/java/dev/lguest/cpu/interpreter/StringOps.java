// The string instructions MOVS, CMPS, STOS, LODS, SCAS, INS and OUTS, with REP, REPE
// and REPNE. Each iteration updates ESI/EDI/ECX only after its own memory accesses, so
// a fault in the middle of a repeat leaves the registers of the completed iterations
// and EIP on the instruction, and the repeat resumes where it stopped, as on hardware.
// A long repeat yields after a slice of iterations (EIP stays on it) so that
// interrupt() and the budget are honoured even for a REP over gigabytes; with TF set
// the slice is one iteration, as the single-step trap comes after each.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.EAX;
import static dev.lguest.api.cpu.X86.ECX;
import static dev.lguest.api.cpu.X86.EDI;
import static dev.lguest.api.cpu.X86.EDX;
import static dev.lguest.api.cpu.X86.ESI;
import static dev.lguest.api.cpu.X86.ZF;

import dev.lguest.api.cpu.X86;

final class StringOps {
    private static final int ITERATIONS_PER_STEP = 4096;

    private final Executor x;
    private final InterpreterCpu cpu;
    private final int[] gpr;

    StringOps(Executor executor) {
        this.x = executor;
        this.cpu = executor.cpu;
        this.gpr = cpu.gpr;
    }

    void execute(int op) {
        int size = (op & 1) == 0 ? 1 : x.operandSize();
        boolean io = op >= 0x6c && op <= 0x6f;
        if (io) {
            x.system.checkIoPermission(gpr[EDX] & 0xffff, size);
        }
        if (x.in.repeat == 0) {
            once(op, size);
            return;
        }
        boolean compares = op == 0xa6 || op == 0xa7 || op == 0xae || op == 0xaf;
        // Single-stepped (TF), a repeat traps after each iteration, EIP still on it.
        for (int slice = (cpu.eflags & X86.TF) != 0 ? 1 : ITERATIONS_PER_STEP; ; ) {
            int count = x.in.address32 ? gpr[ECX] : gpr[ECX] & 0xffff;
            if (count == 0) {
                return;
            }
            once(op, size);
            cpu.setReg(ECX, x.in.address32 ? 4 : 2, count - 1);
            if (compares) {
                boolean zero = (cpu.eflags() & ZF) != 0;
                if (x.in.repeat == 0xf3 ? !zero : zero) {
                    return;
                }
            }
            if (--slice == 0) {
                if (count - 1 != 0) {
                    // Not finished: run it again after the boundary checks. An event
                    // between two iterations pushes RF set, as after a fault.
                    x.next = x.in.start;
                    cpu.eflags |= X86.RF;
                }
                return;
            }
        }
    }

    private int index(int register) {
        return x.in.address32 ? gpr[register] : gpr[register] & 0xffff;
    }

    private void advance(int register, int size) {
        int delta = (cpu.eflags & X86.DF) != 0 ? -size : size;
        if (x.in.address32) {
            gpr[register] += delta;
        } else {
            gpr[register] = (gpr[register] & 0xffff0000) | ((gpr[register] + delta) & 0xffff);
        }
    }

    private void once(int op, int size) {
        switch (op) {
            case 0xa4, 0xa5 -> {
                int value = cpu.read(x.in.segment(), index(ESI), size);
                cpu.write(Segments.ES, index(EDI), size, value);
                advance(ESI, size);
                advance(EDI, size);
            }
            case 0xa6, 0xa7 -> {
                int source = cpu.read(x.in.segment(), index(ESI), size);
                int destination = cpu.read(Segments.ES, index(EDI), size);
                cpu.alu.sub(source, destination, 0, size);
                advance(ESI, size);
                advance(EDI, size);
            }
            case 0xaa, 0xab -> {
                cpu.write(Segments.ES, index(EDI), size, cpu.reg(EAX, size));
                advance(EDI, size);
            }
            case 0xac, 0xad -> {
                cpu.setReg(EAX, size, cpu.read(x.in.segment(), index(ESI), size));
                advance(ESI, size);
            }
            case 0xae, 0xaf -> {
                int destination = cpu.read(Segments.ES, index(EDI), size);
                cpu.alu.sub(cpu.reg(EAX, size), destination, 0, size);
                advance(EDI, size);
            }
            case 0x6c, 0x6d -> {
                // No device answers on this CPU's port bus: input reads all ones.
                cpu.write(Segments.ES, index(EDI), size, -1);
                advance(EDI, size);
            }
            default -> {
                cpu.read(x.in.segment(), index(ESI), size); // the read happens (and may fault)
                advance(ESI, size);
            }
        }
    }
}
