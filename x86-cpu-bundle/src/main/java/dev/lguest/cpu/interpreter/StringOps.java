// The string instructions MOVS, CMPS, STOS, LODS, SCAS, INS and OUTS, with REP, REPE
// and REPNE. Each iteration updates ESI/EDI/ECX only after its own memory accesses, so
// a fault in the middle of a repeat leaves the registers of the completed iterations
// and EIP on the instruction, and the repeat resumes where it stopped, as on hardware.
// A long repeat yields after a slice of iterations (EIP stays on it) so that
// interrupt() and the budget are honoured even for a REP over gigabytes; with TF set
// the slice is one iteration, as the single-step trap comes after each.
//
// REP MOVS and REP STOS (the kernel's and C libraries' memcpy and memset) take a bulk
// path where they can: with flat segments and 32-bit addresses, the iterations whose
// elements all lie inside the current page of each operand, when the TLB already holds
// those pages as guest RAM for this access (LinearMemory.ramEntries: a write entry
// exists only for a page that is writable, dirty and holds no decoded code or watched
// address), are done as one copy or fill of guest RAM, bounded by the slice. Where the
// two operands overlap in RAM, the elements are still moved one by one in order, so a
// MOVS that replicates a pattern does what the element-wise loop does. Anything else
// (a TLB miss, a page crossing inside an element, a based segment, 16-bit addresses)
// takes one iteration the checked way, which fills the TLB, raises the exact fault or
// sees the store into code; the next iteration may be bulk again. Registers, the
// retired count and the slice end are what the element-wise loop leaves.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.EAX;
import static dev.lguest.api.cpu.X86.ECX;
import static dev.lguest.api.cpu.X86.EDI;
import static dev.lguest.api.cpu.X86.EDX;
import static dev.lguest.api.cpu.X86.ESI;
import static dev.lguest.api.cpu.X86.ZF;

import static dev.lguest.cpu.interpreter.LinearMemory.BYTE;
import static dev.lguest.cpu.interpreter.LinearMemory.INT_LE;
import static dev.lguest.cpu.interpreter.LinearMemory.SHORT_LE;
import static dev.lguest.cpu.interpreter.LinearMemory.ramOffset;
import static dev.lguest.cpu.interpreter.LinearMemory.slot;

import dev.lguest.api.cpu.X86;
import dev.lguest.api.memory.PhysicalMemory;
import java.lang.foreign.MemorySegment;

final class StringOps {
    private static final int ITERATIONS_PER_STEP = 4096;

    private final Executor x;
    private final InterpreterCpu cpu;
    private final int[] gpr;
    /** Whether REP MOVS/STOS may take the bulk path (tests turn it off for the element-wise reference). */
    boolean bulk = true;
    /** Iterations the bulk path did (for tests and reports). */
    long bulkIterations;

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
        boolean bulkable = bulk && x.in.address32 && (op == 0xa4 || op == 0xa5 || op == 0xaa || op == 0xab);
        for (int slice = (cpu.eflags & X86.TF) != 0 ? 1 : ITERATIONS_PER_STEP; ; ) {
            int count = x.in.address32 ? gpr[ECX] : gpr[ECX] & 0xffff;
            if (count == 0) {
                return;
            }
            int done = bulkable ? bulk(op, size, count, slice) : 0;
            if (done == 0) {
                once(op, size);
                done = 1;
            }
            cpu.setReg(ECX, x.in.address32 ? 4 : 2, count - done);
            if (compares) {
                boolean zero = (cpu.eflags() & ZF) != 0;
                if (x.in.repeat() == 0xf3 ? !zero : zero) {
                    return;
                }
            }
            slice -= done;
            if (slice == 0) {
                if (count - done != 0) {
                    // Not finished: run it again after the boundary checks. An event
                    // between two iterations pushes RF set, as after a fault.
                    x.next = x.in.start;
                    cpu.eflags |= X86.RF;
                }
                return;
            }
        }
    }

    /**
     * Up to {@code slice} iterations of REP MOVS or STOS (32-bit addresses) on guest
     * RAM at once, all inside the current page of each operand; ESI and EDI advanced,
     * ECX left to the caller. Returns how many were done: 0 when the next one must
     * take the checked way.
     */
    private int bulk(int op, int size, int count, int slice) {
        boolean moves = op == 0xa4 || op == 0xa5;
        int source = x.in.segment();
        if ((cpu.segments.flatWritable & (1 << Segments.ES)) == 0
                || moves && (cpu.segments.flatReadable & (1 << source)) == 0) {
            return 0;
        }
        boolean down = (cpu.eflags & X86.DF) != 0;
        int destination = gpr[EDI];
        int n = (int) Math.min(count & 0xffffffffL, slice);
        n = Math.min(n, elementsInPage(destination, size, down));
        if (moves) {
            n = Math.min(n, elementsInPage(gpr[ESI], size, down));
        }
        if (n == 0) {
            return 0;
        }
        LinearMemory memory = cpu.memory;
        long to = ramOffset(memory.ramEntries[slot(destination, cpu.accessKind | LinearMemory.WRITE)], destination,
                size);
        if (to < 0) {
            return 0;
        }
        long from = 0;
        if (moves) {
            from = ramOffset(memory.ramEntries[slot(gpr[ESI], cpu.accessKind)], gpr[ESI], size);
            if (from < 0) {
                return 0;
            }
        }
        MemorySegment ram = memory.ram;
        long bytes = (long) n * size;
        long step = down ? -size : size;
        // The lowest byte each operand's elements cover.
        long toLow = down ? to - bytes + size : to;
        if (moves) {
            long fromLow = down ? from - bytes + size : from;
            if (toLow >= fromLow + bytes || fromLow >= toLow + bytes || toLow == fromLow) {
                MemorySegment.copy(ram, fromLow, ram, toLow, bytes);
            } else {
                for (int i = 0; i < n; i++, from += step, to += step) {
                    switch (size) {
                        case 1 -> ram.set(BYTE, to, ram.get(BYTE, from));
                        case 2 -> ram.set(SHORT_LE, to, ram.get(SHORT_LE, from));
                        default -> ram.set(INT_LE, to, ram.get(INT_LE, from));
                    }
                }
            }
            gpr[ESI] += (int) (n * step);
        } else {
            int value = cpu.reg(EAX, size);
            switch (size) {
                case 1 -> ram.asSlice(toLow, bytes).fill((byte) value);
                case 2 -> {
                    for (long at = toLow; at < toLow + bytes; at += 2) {
                        ram.set(SHORT_LE, at, (short) value);
                    }
                }
                default -> {
                    for (long at = toLow; at < toLow + bytes; at += 4) {
                        ram.set(INT_LE, at, value);
                    }
                }
            }
        }
        gpr[EDI] += (int) (n * step);
        bulkIterations += n;
        return n;
    }

    /** How many elements from {@code address} on, in the string's direction, lie wholly in its page. */
    private static int elementsInPage(int address, int size, boolean down) {
        int offset = address & (PhysicalMemory.PAGE_SIZE - 1);
        if (offset > PhysicalMemory.PAGE_SIZE - size) {
            return 0;
        }
        return down ? offset / size + 1 : (PhysicalMemory.PAGE_SIZE - offset) / size;
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
