// The compiled code's memory fast path (JitRuntime: a flat segment's bit and a TLB
// entry into guest RAM, then one access to RAM) must fault exactly where the
// interpreter faults and leave exactly its state. Each case runs one program on the
// interpreter and on the translator (every block compiled at its first run, most of
// them hot loops whose entries the fast path has cached) and asserts the fault itself
// (vector, error code, CR2, EIP, retired count) and that both CPUs end with the same
// registers and RAM: accesses across a page boundary, a store into the page holding
// the code being run, TLB entries dropped by INVLPG or a CR3 load while a block is
// hot, segments that are not flat (a limit, a base, a 16-bit stack), user accesses to
// supervisor pages, CR0.WP, and the accessed and dirty bits.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.PAGE_TABLE;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

class CompiledMemoryTest {
    /** The page after DATA and the one after that. */
    private static final int NEXT = DATA + 0x1000, AFTER = DATA + 0x2000;

    /** What one CPU did: its exit, its state, and the bytes of DATA's three pages. */
    private record Outcome(CpuExit exit, CpuState state, int cr2, byte[] data, long compiled) {
    }

    private static Outcome run(boolean translated, int[] program, BiConsumer<TestMachine, InterpreterCpu> setup) {
        try (TestMachine m = new TestMachine()) {
            InterpreterCpu cpu = translated ? new TranslatingCpu(m.bus, 0, true) : new InterpreterCpu(m.bus);
            CpuState s = m.cpu.saveState();
            s.setHostVector(X86.PF_VECTOR, true);
            s.setHostVector(X86.GP, true);
            s.setHostVector(X86.SS_VECTOR, true);
            cpu.loadState(s);
            m.load(CODE, program);
            cpu.setEip(CODE);
            setup.accept(m, cpu);
            CpuExit exit = cpu.run(1_000_000);
            assertEquals(0, cpu.internalErrors);
            byte[] data = new byte[0x3000];
            for (int i = 0; i < data.length; i++) {
                data[i] = m.ram.get(LinearMemory.BYTE, DATA + i);
            }
            long compiled = cpu instanceof TranslatingCpu t ? t.blocksCompiled : 0;
            return new Outcome(exit, cpu.saveState(), cpu.cr2, data, compiled);
        }
    }

    /** Runs the program on both CPUs, checks they agree in everything, and returns the translator's outcome. */
    private static Outcome bothAgree(int[] program, BiConsumer<TestMachine, InterpreterCpu> setup) {
        Outcome reference = run(false, program, setup);
        Outcome translated = run(true, program, setup);
        assertEquals(reference.exit(), translated.exit(), "exit");
        assertEquals(reference.state(), translated.state(), "state");
        assertEquals(reference.cr2(), translated.cr2(), "CR2");
        assertArrayEquals(reference.data(), translated.data(), "RAM");
        assertTrue(translated.compiled() > 0, "blocks compiled");
        return translated;
    }

    private static void assertFault(Outcome o, int vector, int errorCode, int eip) {
        assertEquals(ExitReason.VECTOR, o.exit().reason());
        assertEquals(vector, o.exit().vector(), "vector");
        assertEquals(errorCode, o.exit().errorCode(), "error code");
        assertEquals(eip, o.state().eip, "EIP at the faulting instruction");
    }

    private static void setPte(TestMachine m, int linear, int value) {
        m.write32(PAGE_TABLE + (linear >>> 12) * 4, value);
    }

    /**
     * A loop of 50 passes touching DATA (so its entries are cached and the block hot),
     * then {@code tail} once with ESI = {@code esi}, then the host exit.
     */
    private static int[] hotThen(int esi, int[] tail) {
        return concat(
                new int[] {0xb9}, imm32(50), // mov ecx, 50
                new int[] {0xbe}, imm32(DATA), // mov esi, DATA
                new int[] {0x8b, 0x06}, // L: mov eax, [esi]
                new int[] {0x40}, // inc eax
                new int[] {0x89, 0x06}, // mov [esi], eax
                new int[] {0x50}, // push eax
                new int[] {0x5a}, // pop edx
                new int[] {0x49}, // dec ecx
                new int[] {0x75, 0xf6}, // jnz L
                new int[] {0xbe}, imm32(esi), // mov esi, esi
                tail,
                new int[] {0xcd, 0x1f}); // int 0x1f
    }

    /** Where the tail of hotThen starts. */
    private static final int TAIL = CODE + 5 + 5 + 10 + 5;

    @Test
    void aLoadAcrossAPageBoundaryReadsBothPagesOrFaultsOnTheUpperOne() {
        Outcome read = bothAgree(hotThen(NEXT - 2, new int[] {0x8b, 0x1e}), (m, cpu) -> {
            m.write32(NEXT - 4, 0x4433_2211);
            m.write32(NEXT, 0x8877_6655);
        });
        assertEquals(ExitReason.VECTOR, read.exit().reason());
        assertEquals(0x6655_4433, read.state().gpr[X86.EBX]);

        // The lower page is cached (the loop just used it); the upper one is not present.
        Outcome fault = bothAgree(hotThen(NEXT - 2, new int[] {0x8b, 0x1e}), (m, cpu) -> setPte(m, NEXT, 0));
        assertFault(fault, X86.PF_VECTOR, 0, TAIL);
        assertEquals(NEXT, fault.cr2());
        assertEquals(50, fault.state().gpr[X86.EAX]);
        assertEquals(2 + 7 * 50 + 1, fault.exit().instructions(), "instructions retired");
    }

    @Test
    void aStoreAcrossAPageBoundaryWritesNeitherPageWhenTheUpperOneFaults() {
        int[] store = {0x89, 0x06}; // mov [esi], eax
        Outcome written = bothAgree(hotThen(NEXT - 1, store), (m, cpu) -> { });
        assertEquals(ExitReason.VECTOR, written.exit().reason());
        assertEquals(50, written.data()[0xfff]);

        // Read-only upper page, WP set: #PF for a write to a present page, on NEXT.
        Outcome fault = bothAgree(hotThen(NEXT - 1, store), (m, cpu) -> setPte(m, NEXT, NEXT | 5));
        assertFault(fault, X86.PF_VECTOR, X86.PF_PROT | X86.PF_WRITE, TAIL);
        assertEquals(NEXT, fault.cr2());
        assertEquals(0, fault.data()[0xfff], "the lower page was not written");
    }

    @Test
    void aPushAcrossAPageBoundaryFaultsWithEspUnchanged() {
        // mov esp, NEXT + 2; push eax: the doubleword spans NEXT - 2 .. NEXT + 1.
        int[] push = concat(new int[] {0xbc}, imm32(NEXT + 2), new int[] {0x50});
        Outcome fault = bothAgree(hotThen(0, push), (m, cpu) -> setPte(m, NEXT, 0));
        assertFault(fault, X86.PF_VECTOR, X86.PF_WRITE, TAIL + 5);
        assertEquals(NEXT, fault.cr2());
        assertEquals(NEXT + 2, fault.state().gpr[X86.ESP]);

        Outcome pushed = bothAgree(hotThen(0, push), (m, cpu) -> { });
        assertEquals(NEXT - 2, pushed.state().gpr[X86.ESP]);
        assertEquals(50, pushed.data()[0xffe]);
    }

    @Test
    void aStoreIntoThePageOfTheRunningCodeRunsTheNewCode() {
        // A store into the code page beside the decoded bytes, then one into the next
        // instruction of the same compiled block: mov [patch + 0x40], eax; mov al, 0x42
        // (inc edx); mov [esi], al; patch: inc ebx.
        int patch = TAIL + 6 + 2 + 2;
        int[] program = hotThen(patch, concat(new int[] {0x89, 0x05}, imm32(patch + 0x40),
                new int[] {0xb0, 0x42, 0x88, 0x06, 0x43}));
        Outcome o = bothAgree(program, (m, cpu) -> { });
        assertEquals(ExitReason.VECTOR, o.exit().reason());
        assertEquals(0, o.state().gpr[X86.EBX], "the old instruction did not run");
        assertEquals(51, o.state().gpr[X86.EDX], "the new one did (after the loop's last pop)");
    }

    /** A hot loop reading [DATA] into EAX, run in slices so that the host can act between them. */
    private static final int[] READ_LOOP = concat(
            new int[] {0xbe}, imm32(DATA), // mov esi, DATA
            new int[] {0x8b, 0x06}, // L: mov eax, [esi]
            new int[] {0x01, 0xc3}, // add ebx, eax
            new int[] {0xeb, 0xfa}); // jmp L

    private static InterpreterCpu[] readLoopCpus(TestMachine m) {
        CpuState s = m.cpu.saveState();
        s.setHostVector(X86.PF_VECTOR, true);
        InterpreterCpu[] cpus = {new InterpreterCpu(m.bus), new TranslatingCpu(m.bus, 0, true)};
        for (InterpreterCpu cpu : cpus) {
            cpu.loadState(s);
            cpu.setEip(CODE);
        }
        return cpus;
    }

    @Test
    void invlpgAndCr3LoadsDropTheEntriesOfAHotCompiledBlock() {
        try (TestMachine m = new TestMachine()) {
            m.load(CODE, READ_LOOP);
            m.write32(DATA, 7);
            m.write32(AFTER, 1000);
            // A second directory: the same mappings but for DATA.
            for (int i = 0; i < 1024; i++) {
                m.write32(0x7000 + i * 4, i == 0 ? 0x8000 | 7 : 0);
            }
            for (InterpreterCpu cpu : readLoopCpus(m)) {
                setPte(m, DATA, DATA | 7);
                assertEquals(ExitReason.BUDGET, cpu.run(300).reason());
                assertEquals(7, cpu.gpr(X86.EAX));
                // The guest's page tables change: the cached entry still holds, as on hardware.
                setPte(m, DATA, AFTER | 7);
                assertEquals(ExitReason.BUDGET, cpu.run(300).reason());
                assertEquals(7, cpu.gpr(X86.EAX), "stale until invalidated");
                cpu.invalidatePage(DATA);
                assertEquals(ExitReason.BUDGET, cpu.run(300).reason());
                assertEquals(1000, cpu.gpr(X86.EAX), "after INVLPG");
                // A directory without DATA: the next load faults, in the compiled block.
                int cr3 = cpu.cr3;
                for (int i = 0; i < 1024; i++) {
                    m.write32(0x8000 + i * 4, i == (DATA >>> 12) ? 0 : m.read32(PAGE_TABLE + i * 4));
                }
                cpu.setCr3(0x7000);
                CpuExit exit = cpu.run(300);
                assertEquals(ExitReason.VECTOR, exit.reason());
                assertEquals(X86.PF_VECTOR, exit.vector());
                assertEquals(0, exit.errorCode());
                assertEquals(DATA, cpu.cr2);
                assertEquals(CODE + 5, cpu.eip());
                cpu.setCr3(cr3);
                if (cpu instanceof TranslatingCpu t) {
                    assertTrue(t.blocksCompiled > 0);
                }
            }
        }
    }

    @Test
    void aSegmentWithALimitOrABaseIsCheckedOnEveryAccess() {
        // DS: base 0, limit DATA + 0x103 (byte granular); the loop walks ESI up to it.
        int[] walk = concat(
                new int[] {0xbe}, imm32(DATA), // mov esi, DATA
                new int[] {0x8b, 0x06}, // L: mov eax, [esi]
                new int[] {0x83, 0xc6, 0x04}, // add esi, 4
                new int[] {0xeb, 0xf9}); // jmp L
        Outcome limit = bothAgree(walk, (m, cpu) -> {
            int limitBytes = DATA + 0x103;
            m.writeDescriptor(8, 0, limitBytes, 0x4093 | (1 << 5));
            loadSegment(m, cpu, SegmentRegister.DS, 0x41);
        });
        assertFault(limit, X86.GP, 0, CODE + 5);
        assertEquals(DATA + 0x104, limit.state().gpr[X86.ESI], "the first doubleword ending past the limit");

        // FS with a base: fs:[0] is DATA + 8, through the checked path.
        int[] based = concat(new int[] {0x64, 0x8b, 0x1d}, imm32(0), // mov ebx, fs:[0]
                new int[] {0x64, 0x89, 0x1d}, imm32(4), // mov fs:[4], ebx
                new int[] {0xcd, 0x1f});
        Outcome base = bothAgree(based, (m, cpu) -> {
            m.write32(DATA + 8, 0x1234_5678);
            m.writeDescriptor(8, DATA + 8, 0xfffff, 0xc093 | (1 << 5));
            loadSegment(m, cpu, SegmentRegister.FS, 0x41);
        });
        assertEquals(0x1234_5678, base.state().gpr[X86.EBX]);
        assertEquals(0x78, base.data()[12]);
    }

    @Test
    void aSixteenBitStackWrapsWithinSp() {
        int[] program = concat(
                new int[] {0xbc}, imm32(DATA + 0x10000), // mov esp, DATA + 0x10000 (SP = 0)
                new int[] {0xb8}, imm32(0x5566_7788), // mov eax, ...
                new int[] {0x89, 0x05}, imm32(DATA + 0xfffc), // mov [DATA + 0xfffc], eax: ESP - 4 is cached
                new int[] {0x50}, // push eax: SP wraps to 0xfffc
                new int[] {0x5b}, // pop ebx
                new int[] {0x50}, // push eax
                new int[] {0xcd, 0x1f});
        Outcome o = bothAgree(program, (m, cpu) -> {
            m.writeDescriptor(8, 0, 0xfffff, 0x8093 | (1 << 5)); // 4 GiB, B clear
            loadSegment(m, cpu, SegmentRegister.SS, 0x41);
        });
        assertEquals(0x5566_7788, o.state().gpr[X86.EBX]);
        assertEquals(DATA + 0x1fffc, o.state().gpr[X86.ESP]);
    }

    @Test
    void userAccessesToSupervisorPagesFaultAfterTheKernelCachedThem() {
        int user = CODE + 0x40;
        int[] kernel = concat(
                new int[] {0x66, 0xb8, TestMachine.USER_DATA, 0}, // mov ax, USER_DATA
                new int[] {0x8e, 0xd8}, // mov ds, ax: kept by the IRET to ring 3
                new int[] {0xbe}, imm32(DATA), // mov esi, DATA
                new int[] {0x8b, 0x06, 0x89, 0x06}, // mov eax, [esi]; mov [esi], eax: supervisor entries cached
                new int[] {0x8b, 0x06, 0x89, 0x06},
                new int[] {0x6a, TestMachine.USER_DATA}, // push ss
                new int[] {0x68}, imm32(TestMachine.USER_STACK), // push esp
                new int[] {0x9c}, // pushf
                new int[] {0x6a, TestMachine.USER_CODE}, // push cs
                new int[] {0x68}, imm32(user), // push eip
                new int[] {0xcf}); // iret to ring 3
        int[] read = concat(new int[] {0x8b, 0x1e}, new int[] {0xcd, 0x1f}); // mov ebx, [esi]
        Outcome readFault = bothAgree(at(kernel, user, read), (m, cpu) -> setPte(m, DATA, DATA | 3));
        assertFault(readFault, X86.PF_VECTOR, X86.PF_PROT | X86.PF_USER, user);
        assertEquals(DATA, readFault.cr2());
        assertEquals(3, readFault.state().segments[SegmentRegister.CS.ordinal()].selector() & 3);

        // A user page that is read-only, WP clear: the kernel's stores go through (and
        // its write entry is cached), the user's read works and its write faults.
        int[] write = concat(new int[] {0x8b, 0x1e, 0x89, 0x1e}, new int[] {0xcd, 0x1f});
        Outcome writeFault = bothAgree(at(kernel, user, write), (m, cpu) -> {
            setPte(m, DATA, DATA | 5);
            CpuState s = cpu.saveState();
            s.cr0 &= ~X86.CR0_WP;
            cpu.loadState(s);
        });
        assertFault(writeFault, X86.PF_VECTOR, X86.PF_PROT | X86.PF_WRITE | X86.PF_USER, user + 2);
    }

    /** The kernel part at CODE and the user part at {@code user}, nops between. */
    private static int[] at(int[] kernel, int user, int[] userCode) {
        int[] all = new int[user - CODE + userCode.length];
        java.util.Arrays.fill(all, 0x90);
        System.arraycopy(kernel, 0, all, 0, kernel.length);
        System.arraycopy(userCode, 0, all, user - CODE, userCode.length);
        return all;
    }

    @Test
    void writeProtectDecidesSupervisorStoresToReadOnlyPagesAndDirtyBitsAreSet() {
        int[] program = hotThen(NEXT, new int[] {0x8b, 0x1e, 0x89, 0x06}); // mov ebx, [esi]; mov [esi], eax
        Outcome protectedPage = bothAgree(program, (m, cpu) -> setPte(m, NEXT, NEXT | 1));
        assertFault(protectedPage, X86.PF_VECTOR, X86.PF_PROT | X86.PF_WRITE, TAIL + 2);
        assertEquals(NEXT, protectedPage.cr2());

        Outcome noWriteProtect = bothAgree(program, (m, cpu) -> {
            setPte(m, NEXT, NEXT | 1);
            CpuState s = cpu.saveState();
            s.cr0 &= ~X86.CR0_WP;
            cpu.loadState(s);
        });
        assertEquals(ExitReason.VECTOR, noWriteProtect.exit().reason());
        assertEquals(50, noWriteProtect.data()[0x1000]);

        // Accessed and dirty bits: a read sets A only; the store after it sets D.
        try (TestMachine m = new TestMachine()) {
            TranslatingCpu cpu = new TranslatingCpu(m.bus, 0, true);
            cpu.loadState(m.cpu.saveState());
            m.load(CODE, hotThen(AFTER, new int[] {0x8b, 0x1e})); // mov ebx, [esi]
            cpu.setEip(CODE);
            cpu.run(1_000_000);
            assertEquals(DATA | 7 | X86.PTE_ACCESSED | X86.PTE_DIRTY, m.read32(PAGE_TABLE + (DATA >>> 12) * 4));
            assertEquals(AFTER | 7 | X86.PTE_ACCESSED, m.read32(PAGE_TABLE + (AFTER >>> 12) * 4));
        }
    }

    /** Loads a segment register from the GDT (whose limit is raised to hold entry 8) as the CPU would have it. */
    private static void loadSegment(TestMachine m, InterpreterCpu cpu, SegmentRegister r, int selector) {
        CpuState s = cpu.saveState();
        s.gdtLimit = 16 * 8 - 1;
        s.setSegment(r, m.segment(selector));
        cpu.loadState(s);
    }
}
