package dev.lguest.benchmarks;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A bare machine for measuring a CPU alone: 4 MiB of RAM mapped 1:1 by page tables,
 * flat ring-1 segments as a guest kernel has them, and an IDT whose only gate is the
 * 0x1f trap the workload uses to hand back its answer. No host components: what is
 * measured is the CPU fetching, decoding and executing, paging included.
 */
final class BareMachine implements AutoCloseable {
    static final int RAM_BYTES = 4 << 20;
    static final int RETURN_VECTOR = 0x1f;
    private static final int PAGE_DIRECTORY = 0x1000;
    private static final int PAGE_TABLE = 0x2000;
    private static final int IDT = 0x3000;
    private static final int STACK_TOP = 0x3ff000;

    // Shared, as the launcher allocates a guest's RAM (its devices' threads reach it
    // too): every access then pays the shared arena's liveness check, not a confined
    // arena's owner-thread test, so the figure is the one a real guest's CPU sees.
    private final Arena arena = Arena.ofShared();
    private final MemorySegment ram = arena.allocate(RAM_BYTES, 4096);
    private final GuestMemory memory = new GuestMemory(ram);
    private final PhysicalMemory bus = new PhysicalMemory(ram);
    private final byte[] pristine;
    private final int entry;
    private final X86Cpu cpu;

    BareMachine(X86CpuFactory factory, byte[] elf) {
        entry = loadElf(elf);
        // The page tables: one directory entry, 1024 pages, present/writable/user.
        memory.write32(PAGE_DIRECTORY, PAGE_TABLE | 7);
        for (int page = 0; page < 1024; page++) {
            memory.write32(PAGE_TABLE + page * 4L, (page << 12) | 7);
        }
        // An interrupt gate for 0x1f that ring 1 may use; the CPU routes it to us anyway.
        memory.write32(IDT + RETURN_VECTOR * 8L, 0x00610000);
        memory.write32(IDT + RETURN_VECTOR * 8L + 4, 0x0000ae00);
        pristine = new byte[RAM_BYTES];
        memory.read(0, pristine, 0, RAM_BYTES);
        cpu = factory.create(bus);
    }

    /** Runs workload(rounds) from a fresh copy of memory; returns its checksum and counts instructions. */
    int run(int rounds, long[] instructions) {
        memory.write(0, pristine);
        CpuState s = new CpuState();
        s.eip = entry;
        s.eflags = X86.EFLAGS_FIXED | X86.IF;
        s.gpr[X86.EAX] = rounds;
        s.gpr[X86.ESP] = STACK_TOP;
        SegmentCache code = new SegmentCache(0x61, 0, 0xffffffff, 0xc0bb);
        SegmentCache data = new SegmentCache(0x69, 0, 0xffffffff, 0xc0b3);
        s.setSegment(SegmentRegister.CS, code);
        for (SegmentRegister r : new SegmentRegister[] {SegmentRegister.DS, SegmentRegister.ES,
                SegmentRegister.SS, SegmentRegister.FS, SegmentRegister.GS}) {
            s.setSegment(r, data);
        }
        s.idtBase = IDT;
        s.idtLimit = 256 * 8 - 1;
        s.cr0 = X86.CR0_PE | X86.CR0_ET | X86.CR0_WP | X86.CR0_PG;
        s.cr3 = PAGE_DIRECTORY;
        for (int v = 0; v < 256; v++) {
            s.setHostVector(v, true);
        }
        cpu.loadState(s);
        while (true) {
            CpuExit exit = cpu.run(Long.MAX_VALUE);
            instructions[0] += exit.instructions();
            if (exit.reason() == ExitReason.VECTOR && exit.vector() == RETURN_VECTOR) {
                return cpu.gpr(X86.EAX);
            }
            if (exit.reason() != ExitReason.BUDGET && exit.reason() != ExitReason.INTERRUPTED) {
                throw new IllegalStateException("the workload stopped with " + exit + " at "
                        + Integer.toHexString(cpu.eip()));
            }
        }
    }

    /** Loads each PT_LOAD segment at its physical address; returns the entry point. */
    private int loadElf(byte[] image) {
        ByteBuffer elf = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        int programHeaders = elf.getInt(28);
        int size = elf.getShort(42);
        for (int i = 0; i < elf.getShort(44); i++) {
            int ph = programHeaders + i * size;
            if (elf.getInt(ph) == 1) {
                int offset = elf.getInt(ph + 4);
                int physical = elf.getInt(ph + 12);
                int fileSize = elf.getInt(ph + 16);
                memory.write(physical, image, offset, fileSize);
            }
        }
        return elf.getInt(24);
    }

    @Override
    public void close() {
        arena.close();
    }
}
