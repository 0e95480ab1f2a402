// The descriptor table entries the CPU keeps between reads (TableCache) never answer
// with bytes or a translation the table no longer has. Each case caches an entry (a
// segment load, an INT through a gate, a stack switch through the TSS), changes what a
// read would see, in the same run and by the CPU's own stores where it can (a store
// into the table's page, LGDT, a remapped page with INVLPG), and checks that the next
// use saw the change. A store into the table's page comes first, so that its write
// translation is in the TLB when the entry is cached: the cache must take it out. The
// host's writes between runs must be seen by the next run. On the translator (the
// x86-jit-bundle runs these) the stores are compiled ones.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.GDT;
import static dev.lguest.cpu.interpreter.TestMachine.HOST_EXIT;
import static dev.lguest.cpu.interpreter.TestMachine.IDT;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_CODE;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_CODE0;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_DATA;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_DATA0;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_STACK;
import static dev.lguest.cpu.interpreter.TestMachine.PAGE_TABLE;
import static dev.lguest.cpu.interpreter.TestMachine.TSS;
import static dev.lguest.cpu.interpreter.TestMachine.USER_STACK;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import org.junit.jupiter.api.Test;

class TableCacheTest {
    /** KERNEL_DATA's GDT slot and its ring-1 flat read/write attributes (accessed). */
    private static final int SLOT = KERNEL_DATA >>> 3;
    private static final int RING1_DATA = 0xc093 | (1 << 5);
    private static final int MOVED = 0x1000;
    /** Where a second GDT goes (LGDT) and a second copy of the first one's page (remapping). */
    private static final int OTHER_GDT = 0x6000, GDT_COPY = 0x7000;

    /** mov dx, selector / mov ds, dx. */
    private static int[] movDs(int selector) {
        return new int[] {0x66, 0xba, selector & 0xff, selector >>> 8, 0x8e, 0xda};
    }

    private static int[] store(int address, int value) {
        return concat(new int[] {0xc7, 0x05}, imm32(address), imm32(value));
    }

    /** mov r32, [address] for EAX (0), ECX (1), EBX (3). */
    private static int[] loadFrom(int register, int address) {
        return concat(new int[] {0x8b, 0x05 | (register << 3)}, imm32(address));
    }

    private static final int[] EXIT = {0xcd, HOST_EXIT};

    /** The two words of a data descriptor based at {@code base} (TestMachine.writeDescriptor's packing). */
    private static int[] descriptor(int base, int attributes) {
        int limit = 0xfffff;
        int low = (base << 16) | (limit & 0xffff);
        int high = ((base >>> 16) & 0xff) | ((attributes & 0xff) << 8) | (limit & 0xf0000)
                | ((attributes & 0xf000) << 8) | (base & 0xff000000);
        return new int[] {low, high};
    }

    private static void assertExit(CpuExit exit) {
        assertEquals(ExitReason.VECTOR, exit.reason(), exit.toString());
        assertEquals(HOST_EXIT, exit.vector(), exit.toString());
    }

    private static TestMachine machine() {
        TestMachine m = new TestMachine();
        m.write32(DATA, 0x1111);
        m.write32(DATA + MOVED, 0x2222);
        return m;
    }

    /** The CPU at CPL 0, for LGDT and INVLPG. */
    private static void ring0(TestMachine m) {
        CpuState s = m.cpu.saveState();
        s.setSegment(SegmentRegister.CS, m.segment(KERNEL_CODE0));
        s.setSegment(SegmentRegister.SS, m.segment(KERNEL_DATA0));
        m.cpu.loadState(s);
    }

    @Test
    void aDescriptorRewrittenByTheCpuIsSeenByTheNextLoad() {
        int[] moved = descriptor(MOVED, RING1_DATA);
        try (TestMachine m = machine()) {
            m.program(concat(store(GDT + 0x400, 0), movDs(KERNEL_DATA), loadFrom(0, DATA),
                    // A store into the table's page after the entry is cached, then the entry read again.
                    store(GDT + 0x404, 0), movDs(KERNEL_DATA),
                    store(GDT + SLOT * 8, moved[0]), store(GDT + SLOT * 8 + 4, moved[1]),
                    movDs(KERNEL_DATA), loadFrom(3, DATA), EXIT));
            assertExit(m.run());
            assertEquals(0x1111, m.cpu.gpr(X86.EAX));
            assertEquals(0x2222, m.cpu.gpr(X86.EBX));
            assertEquals(MOVED, m.cpu.saveState().segment(SegmentRegister.DS).base());
        }
    }

    @Test
    void aDescriptorTheHostRewroteBetweenRunsIsSeenByTheNextRun() {
        try (TestMachine m = machine()) {
            // Every page the program touches is in the TLB before the load, so no page
            // walk after it could hide a stale entry: only the new run may.
            m.program(concat(loadFrom(1, IDT + 0x80 * 8), loadFrom(1, DATA), loadFrom(1, DATA + MOVED),
                    movDs(KERNEL_DATA), loadFrom(3, DATA), EXIT));
            assertExit(m.run());
            assertEquals(0x1111, m.cpu.gpr(X86.EBX));
            m.writeDescriptor(SLOT, MOVED, 0xfffff, RING1_DATA);
            m.cpu.setEip(CODE);
            assertExit(m.run());
            assertEquals(0x2222, m.cpu.gpr(X86.EBX));
        }
    }

    @Test
    void anotherGdtLoadedByLgdtIsRead() {
        try (TestMachine m = machine()) {
            ring0(m);
            for (int i = 0; i < 8 * 8; i += 4) {
                m.write32(OTHER_GDT + i, m.read32(GDT + i));
            }
            int[] moved = descriptor(MOVED, RING1_DATA);
            m.write32(OTHER_GDT + SLOT * 8, moved[0]);
            m.write32(OTHER_GDT + SLOT * 8 + 4, moved[1]);
            m.write16(DATA + 0x100, 8 * 8 - 1);
            m.write32(DATA + 0x102, OTHER_GDT);
            m.program(concat(movDs(KERNEL_DATA), loadFrom(0, DATA),
                    concat(new int[] {0x0f, 0x01, 0x15}, imm32(DATA + 0x100)), // lgdt [DATA + 0x100]
                    movDs(KERNEL_DATA), loadFrom(3, DATA), EXIT));
            assertExit(m.run());
            assertEquals(0x1111, m.cpu.gpr(X86.EAX));
            assertEquals(0x2222, m.cpu.gpr(X86.EBX));
        }
    }

    @Test
    void aTablePageRemappedWithInvlpgIsReadThroughItsNewFrame() {
        try (TestMachine m = machine()) {
            ring0(m);
            for (int i = 0; i < 0x1000; i += 4) {
                m.write32(GDT_COPY + i, m.read32(GDT + i));
            }
            int[] moved = descriptor(MOVED, RING1_DATA);
            m.write32(GDT_COPY + SLOT * 8, moved[0]);
            m.write32(GDT_COPY + SLOT * 8 + 4, moved[1]);
            m.program(concat(movDs(KERNEL_DATA), loadFrom(0, DATA),
                    store(PAGE_TABLE + (GDT >>> 12) * 4, GDT_COPY | 7),
                    concat(new int[] {0x0f, 0x01, 0x3d}, imm32(GDT)), // invlpg [GDT]
                    movDs(KERNEL_DATA), loadFrom(3, DATA), EXIT));
            assertExit(m.run());
            assertEquals(0x1111, m.cpu.gpr(X86.EAX));
            assertEquals(0x2222, m.cpu.gpr(X86.EBX));
        }
    }

    @Test
    void aGateRewrittenByTheCpuSendsTheNextInterruptToItsNewHandler() {
        int vector = 0x40;
        try (TestMachine m = machine()) {
            // Handlers: mov eax, 1 / iret and mov ebx, 2 / iret.
            m.load(CODE + 0x100, 0xb8, 1, 0, 0, 0, 0xcf);
            m.load(CODE + 0x200, 0xbb, 2, 0, 0, 0, 0xcf);
            m.setGate(vector, KERNEL_CODE, CODE + 0x100, 0xe, 1);
            int newLow = (KERNEL_CODE << 16) | ((CODE + 0x200) & 0xffff);
            m.program(concat(store(IDT + 0xff * 8, 0), new int[] {0xcd, vector}, store(IDT + 0xfe * 8, 0),
                    new int[] {0xcd, vector}, store(IDT + vector * 8, newLow), new int[] {0xcd, vector}, EXIT));
            assertExit(m.run());
            assertEquals(1, m.cpu.gpr(X86.EAX));
            assertEquals(2, m.cpu.gpr(X86.EBX));
        }
    }

    @Test
    void aRingOneStackRewrittenInTheTssIsTheNextSystemCallsStack() {
        int moved = KERNEL_STACK - 0x1000;
        try (TestMachine m = machine()) {
            // The handler keeps its ESP in DATA: mov [DATA], esp / iret.
            m.load(CODE + 0x100, concat(new int[] {0x89, 0x25}, imm32(DATA), new int[] {0xcf}));
            m.setGate(0x80, KERNEL_CODE, CODE + 0x100, 0xe, 3);
            m.load(CODE, concat(store(TSS + 0x80, 0), new int[] {0xcd, 0x80}, loadFrom(3, DATA),
                    store(TSS + 0x84, 0), new int[] {0xcd, 0x80},
                    store(TSS + 12, moved), new int[] {0xcd, 0x80}, loadFrom(1, DATA), EXIT));
            m.enterUserMode(CODE, USER_STACK);
            assertExit(m.run());
            assertEquals(KERNEL_STACK - 20, m.cpu.gpr(X86.EBX));
            assertEquals(moved - 20, m.cpu.gpr(X86.ECX));
        }
    }

    @Test
    void theAccessedBitALoadSetIsInTheTable() {
        try (TestMachine m = machine()) {
            m.writeDescriptor(SLOT, 0, 0xfffff, RING1_DATA & ~1);
            int[] cleared = descriptor(0, RING1_DATA & ~1);
            // Load (sets the bit), clear it again with a store, load again: set again.
            m.program(concat(store(GDT + 0x400, 0), movDs(KERNEL_DATA), store(GDT + SLOT * 8 + 4, cleared[1]),
                    movDs(KERNEL_DATA), loadFrom(0, GDT + SLOT * 8 + 4), EXIT));
            assertExit(m.run());
            assertEquals(0x100, m.cpu.gpr(X86.EAX) & 0x100);
            assertEquals(0x100, m.read32(GDT + SLOT * 8 + 4) & 0x100);
        }
    }
}
