// A small protected-mode machine for the tests: 4 MiB of RAM with a flat GDT (ring 0,
// 1 and 3 code and data segments and a TSS), an IDT, identity page tables for the
// first 4 MiB, and a CPU at CPL 1 with paging on, as a paravirtual guest kernel runs.
// Programs are hand-assembled bytes placed at CODE.
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.memory.PhysicalMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

final class TestMachine implements AutoCloseable {
    static final int RAM_SIZE = 4 << 20;
    static final int GDT = 0x1000, IDT = 0x2000, TSS = 0x3000, PAGE_DIRECTORY = 0x4000, PAGE_TABLE = 0x5000;
    static final int CODE = 0x10000, DATA = 0x20000, KERNEL_STACK = 0x80000, USER_STACK = 0x90000;
    static final int KERNEL_CODE0 = 0x08, KERNEL_DATA0 = 0x10, KERNEL_CODE = 0x19, KERNEL_DATA = 0x21,
            USER_CODE = 0x2b, USER_DATA = 0x33, TSS_SELECTOR = 0x38;
    static final int HOST_EXIT = 0x1f;

    final Arena arena = Arena.ofConfined();
    final MemorySegment ram = arena.allocate(RAM_SIZE, 4096);
    final PhysicalMemory bus = new PhysicalMemory(ram);
    final InterpreterCpu cpu = CpuUnderTest.create(bus);

    TestMachine() {
        writeDescriptor(1, 0, 0xfffff, 0xc09b);
        writeDescriptor(2, 0, 0xfffff, 0xc093);
        writeDescriptor(3, 0, 0xfffff, 0xc09b | (1 << 5));
        writeDescriptor(4, 0, 0xfffff, 0xc093 | (1 << 5));
        writeDescriptor(5, 0, 0xfffff, 0xc09b | (3 << 5));
        writeDescriptor(6, 0, 0xfffff, 0xc093 | (3 << 5));
        writeDescriptor(7, TSS, 0x67, 0x008b); // busy 32-bit TSS
        write32(TSS + 4, KERNEL_STACK - 0x8000); // esp0
        write32(TSS + 8, KERNEL_DATA0);
        write32(TSS + 12, KERNEL_STACK); // esp1
        write32(TSS + 16, KERNEL_DATA); // ss1
        write16(TSS + 102, 0x1000); // I/O bitmap beyond the limit: no port permission
        write32(PAGE_DIRECTORY, PAGE_TABLE | 7);
        for (int page = 0; page < 1024; page++) {
            write32(PAGE_TABLE + page * 4, (page << 12) | 7);
        }
        CpuState s = new CpuState();
        s.gdtBase = GDT;
        s.gdtLimit = 8 * 8 - 1;
        s.idtBase = IDT;
        s.idtLimit = 256 * 8 - 1;
        s.tr = segment(TSS_SELECTOR);
        s.cr3 = PAGE_DIRECTORY;
        s.cr0 = X86.CR0_PE | X86.CR0_ET | X86.CR0_PG | X86.CR0_WP;
        s.setSegment(SegmentRegister.CS, segment(KERNEL_CODE));
        for (SegmentRegister r : new SegmentRegister[] {SegmentRegister.SS, SegmentRegister.DS, SegmentRegister.ES}) {
            s.setSegment(r, segment(KERNEL_DATA));
        }
        s.gpr[X86.ESP] = KERNEL_STACK;
        s.eip = CODE;
        s.setHostVector(HOST_EXIT, true);
        cpu.loadState(s);
        setGate(HOST_EXIT, KERNEL_CODE, 0, 0xf, 3);
    }

    void writeDescriptor(int index, int base, int limit, int attributes) {
        int low = (base << 16) | (limit & 0xffff);
        int high = ((base >>> 16) & 0xff) | ((attributes & 0xff) << 8) | (limit & 0xf0000)
                | ((attributes & 0xf000) << 8) | (base & 0xff000000);
        write32(GDT + index * 8, low);
        write32(GDT + index * 8 + 4, high);
    }

    SegmentCache segment(int selector) {
        int address = GDT + (selector & ~7);
        return SegmentCache.fromDescriptor(selector, read32(address), read32(address + 4));
    }

    /** An IDT gate: type 0xE interrupt gate, 0xF trap gate. */
    void setGate(int vector, int selector, int offset, int type, int dpl) {
        write32(IDT + vector * 8, (selector << 16) | (offset & 0xffff));
        write32(IDT + vector * 8 + 4, (offset & 0xffff0000) | 0x8000 | (dpl << 13) | (type << 8));
    }

    /** Makes the CPU start in ring 3 with user segments. */
    void enterUserMode(int eip, int esp) {
        CpuState s = cpu.saveState();
        s.setSegment(SegmentRegister.CS, segment(USER_CODE));
        for (SegmentRegister r : new SegmentRegister[] {SegmentRegister.SS, SegmentRegister.DS, SegmentRegister.ES}) {
            s.setSegment(r, segment(USER_DATA));
        }
        s.eip = eip;
        s.gpr[X86.ESP] = esp;
        cpu.loadState(s);
    }

    void load(int address, int... bytes) {
        for (int i = 0; i < bytes.length; i++) {
            ram.set(LinearMemory.BYTE, address + i, (byte) bytes[i]);
        }
    }

    /** Loads a program at CODE and points EIP at it. */
    void program(int... bytes) {
        load(CODE, bytes);
        cpu.setEip(CODE);
    }

    CpuExit run() {
        return cpu.run(1_000_000);
    }

    /**
     * For the benchmarks: runs from the current state, in budget slices, until the
     * program leaves through the host's exit vector, and returns the CPU time this
     * thread spent on it in nanoseconds; any other end is an error of the program.
     */
    long cpuNanosToHostExit() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long start = threads.getCurrentThreadCpuTime();
        CpuExit exit;
        do {
            exit = cpu.run(100_000_000);
        } while (exit.reason() == ExitReason.BUDGET);
        long spent = threads.getCurrentThreadCpuTime() - start;
        if (exit.reason() != ExitReason.VECTOR || exit.vector() != HOST_EXIT) {
            throw new IllegalStateException("the program ended with " + exit);
        }
        return spent;
    }

    int read32(int address) {
        return ram.get(LinearMemory.INT_LE, address);
    }

    void write32(int address, int value) {
        ram.set(LinearMemory.INT_LE, address, value);
    }

    void write16(int address, int value) {
        ram.set(LinearMemory.SHORT_LE, address, (short) value);
    }

    static int[] concat(int[]... parts) {
        int length = 0;
        for (int[] p : parts) {
            length += p.length;
        }
        int[] all = new int[length];
        int at = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    static int[] imm32(int value) {
        return new int[] {value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24};
    }

    @Override
    public void close() {
        bus.close();
        arena.close();
    }
}
