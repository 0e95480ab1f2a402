/*
 * A new CPU's first run, on a scratch machine, before any guest moves onto it.
 *
 * The first time a CPU implementation runs (a bundle just started or updated), the
 * JVM loads, verifies and links its classes, some tens of them, and resolves every
 * call they make as it first makes it. Measured on a swap of the CPU bundle under a
 * running guest, that was 8-10 ms on the guest's thread (JFR: class loads from
 * InterpreterCpu to Block between the guest's last instruction on the old CPU and
 * its first on the new one): the longest pause any swap made. So when a CPU factory
 * is bound while guests run, the switcher first runs one of its CPUs through a short
 * program, on the binding thread; the guests carry on on the old CPU meanwhile, and
 * find the new one's code loaded when they move. The run is short on purpose (one
 * round of the program, about 10,000 instructions): a long warm-up, tried too,
 * wakes the JIT, whose threads then take the cores from the guests (23-40 ms pauses).
 *
 * The scratch machine is what a guest kernel looks like to its CPU: 64 KiB of RAM
 * mapped 1:1 by page tables, flat ring-1 segments, every vector owned by the host.
 * Its program is a loop of the instructions compilers emit most (moves, ALU forms,
 * branches, calls, the stack, string moves), ending in an INT to the host as a
 * hypercall does, so the CPU's exit is run too. Only the API is used: any CPU
 * implementation gets the same treatment.
 */
package dev.lguest.switcher;

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
import java.util.HexFormat;

final class CpuFirstRun {
    static final int RAM_BYTES = 64 << 10;
    static final int IDT = 0;
    static final int PAGE_DIRECTORY = 0x1000;
    static final int PAGE_TABLE = 0x2000;
    static final int CODE = 0x3000;
    static final int SOURCE = 0x8000;
    static final int STACK_TOP = 0xf000;
    /** The vector the program ends each round with, as a guest's hypercall does. */
    static final int ROUND_VECTOR = 0x1f;
    /** One round of the program is 9,866 instructions; a CPU that runs past this is lost in it. */
    static final long MAX_INSTRUCTIONS = 20_000;
    /** However slow the CPU: the bind does not wait longer for its first run. */
    static final long MAX_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(200);

    /**
     * The program, as nasm assembled it at org 0x3000 (SOURCE = 0x8000, DEST = 0x9000).
     * Branch and call displacements are relative: keep the rows' lengths if you edit.
     */
    private static final String[][] PROGRAM = {
        // start:
        {"be00800000", "mov esi, SOURCE"},
        {"bf00900000", "mov edi, DEST"},
        {"b900010000", "mov ecx, 256"},
        // .loop: one word of SOURCE per round, mixed and stored to DEST
        {"8b06", "mov eax, [esi]"},
        {"01d8", "add eax, ebx"},
        {"83d200", "adc edx, 0"},
        {"355a5a5a5a", "xor eax, 0x5a5a5a5a"},
        {"8907", "mov [edi], eax"},
        {"0fb65e01", "movzx ebx, byte [esi+1]"},
        {"8d449808", "lea eax, [eax+ebx*4+8]"},
        {"6bc01f", "imul eax, eax, 31"},
        {"c1e803", "shr eax, 3"},
        {"a801", "test al, 1"},
        {"7402", "jz .even"},
        {"29d8", "sub eax, ebx"},
        // .even:
        {"39d8", "cmp eax, ebx"},
        {"0f92c2", "setb dl"},
        {"0f42c3", "cmovb eax, ebx"},
        {"50", "push eax"},
        {"53", "push ebx"},
        {"e82f000000", "call mix"},
        {"83c408", "add esp, 8"},
        {"8807", "mov [edi], al"},
        {"ff4704", "inc dword [edi+4]"},
        {"83c604", "add esi, 4"},
        {"83c704", "add edi, 4"},
        {"49", "dec ecx"},
        {"75be", "jnz .loop"},
        // the string moves, then back to the host
        {"be00800000", "mov esi, SOURCE"},
        {"bf00900000", "mov edi, DEST"},
        {"b940000000", "mov ecx, 64"},
        {"f3a5", "rep movsd"},
        {"b940000000", "mov ecx, 64"},
        {"31c0", "xor eax, eax"},
        {"f3ab", "rep stosd"},
        {"cd1f", "int 0x1f"},
        {"eb91", "jmp start"},
        // mix: a C function's frame, a divide
        {"55", "push ebp"},
        {"89e5", "mov ebp, esp"},
        {"51", "push ecx"},
        {"8b4508", "mov eax, [ebp+8]"},
        {"8b550c", "mov edx, [ebp+12]"},
        {"21d0", "and eax, edx"},
        {"83c801", "or eax, 1"},
        {"31d2", "xor edx, edx"},
        {"8b4d0c", "mov ecx, [ebp+12]"},
        {"83c901", "or ecx, 1"},
        {"f7f1", "div ecx"},
        {"59", "pop ecx"},
        {"5d", "pop ebp"},
        {"c3", "ret"},
    };

    static final byte[] CODE_BYTES = assemble();

    private static byte[] assemble() {
        StringBuilder hex = new StringBuilder();
        for (String[] row : PROGRAM) {
            hex.append(row[0]);
        }
        return HexFormat.of().parseHex(hex);
    }

    /** What the first run did: instructions run, for how long, and why it went wrong if it did. */
    record Result(long instructions, long nanos, String stoppedBy) {
    }

    private CpuFirstRun() {
    }

    /**
     * Runs a CPU from {@code factory} on the scratch machine through one round of the
     * program (to its INT). A CPU that leaves the program (a fault, a halt), throws,
     * or runs past the limits ends it early; that is reported, never thrown: the first
     * run is an optimisation, and the bind goes on regardless.
     */
    static Result run(X86CpuFactory factory) {
        long start = System.nanoTime();
        long done = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(RAM_BYTES, 4096);
            X86Cpu cpu = factory.create(prepare(ram));
            cpu.loadState(initialState());
            // The first run is always made: on a loaded machine creating a cold CPU
            // (class loading) may alone take longer than the time limit, which is
            // meant for a CPU that keeps coming back without reaching the end.
            do {
                CpuExit exit = cpu.run(MAX_INSTRUCTIONS - done);
                done += exit.instructions();
                if (exit.reason() == ExitReason.VECTOR && exit.vector() == ROUND_VECTOR) {
                    return new Result(done, System.nanoTime() - start, null);
                }
                if (exit.reason() != ExitReason.BUDGET && exit.reason() != ExitReason.INTERRUPTED) {
                    return new Result(done, System.nanoTime() - start, "the CPU left the program: " + exit);
                }
            } while (done < MAX_INSTRUCTIONS && System.nanoTime() - start < MAX_NANOS);
            return new Result(done, System.nanoTime() - start, "the CPU did not reach the end of the program");
        } catch (RuntimeException | LinkageError broken) {
            return new Result(done, System.nanoTime() - start, "the CPU failed: " + broken);
        }
    }

    /**
     * Page tables mapping the RAM 1:1, the program, and data to chew on. The bus is
     * left to the collector, not closed: the CPU takes no host pages from it, and
     * closing its shared arena would make every thread, the guests' too, stop for a
     * handshake.
     */
    static PhysicalMemory prepare(MemorySegment ram) {
        GuestMemory memory = new GuestMemory(ram);
        memory.write32(PAGE_DIRECTORY, PAGE_TABLE | 7);
        for (int page = 0; page < RAM_BYTES / 4096; page++) {
            memory.write32(PAGE_TABLE + page * 4L, (page << 12) | 7);
        }
        // INT n from ring 1 needs a gate ring 1 may use, though the vector exits to us.
        memory.write32(IDT + ROUND_VECTOR * 8L, 0x00610000);
        memory.write32(IDT + ROUND_VECTOR * 8L + 4, 0x0000ae00);
        memory.write(CODE, CODE_BYTES);
        int x = 0x12345678;
        for (int i = 0; i < 1024; i += 4) {
            x = x * 1103515245 + 12345;
            memory.write32(SOURCE + i, x);
        }
        return new PhysicalMemory(ram);
    }

    /** Ring 1, flat segments, paging on, every vector exiting to us. */
    static CpuState initialState() {
        CpuState s = new CpuState();
        s.eip = CODE;
        s.eflags = X86.EFLAGS_FIXED | X86.IF;
        s.gpr[X86.ESP] = STACK_TOP;
        s.setSegment(SegmentRegister.CS, new SegmentCache(0x61, 0, 0xffffffff, 0xc0bb));
        SegmentCache data = new SegmentCache(0x69, 0, 0xffffffff, 0xc0b3);
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
        return s;
    }
}
