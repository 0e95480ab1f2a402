// A segment load that reads the same descriptor for the same selector at the same CPL
// as the load before it is skipped, and decoded descriptors are reused (Segments). Each
// case loads a register, changes one thing a real CPU would notice on the next load
// (the descriptor's base, its present bit, its accessed bit, its type, the CPL), loads
// the same selector again and checks that the CPU noticed, as the full path does.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.GDT;
import static dev.lguest.cpu.interpreter.TestMachine.HOST_EXIT;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_DATA;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import org.junit.jupiter.api.Test;

class SegmentReloadTest {
    /** KERNEL_DATA's GDT slot and its ring-1 flat read/write attributes (accessed). */
    private static final int SLOT = KERNEL_DATA >>> 3;
    private static final int RING1_DATA = 0xc093 | (1 << 5);
    private static final int MOVED = 0x1000;

    /** mov ax, selector; mov <register>, ax; mov eax, [DATA]; int HOST_EXIT. */
    private static int[] load(int selector, int register) {
        return concat(new int[] {0x66, 0xb8, selector & 0xff, selector >>> 8, 0x8e, 0xc0 | (register << 3), 0xa1},
                imm32(DATA), new int[] {0xcd, HOST_EXIT});
    }

    private static TestMachine machine(int[] program) {
        TestMachine m = new TestMachine();
        CpuState s = m.cpu.saveState();
        for (int vector : new int[] {X86.GP, X86.NP, X86.SS_VECTOR}) {
            s.setHostVector(vector, true);
        }
        m.cpu.loadState(s);
        m.write32(DATA, 0x1111);
        m.write32(DATA + MOVED, 0x2222);
        m.program(program);
        assertExit(m.run(), HOST_EXIT, 0);
        return m;
    }

    private static CpuExit again(TestMachine m) {
        m.cpu.setEip(CODE);
        return m.run();
    }

    private static void assertExit(CpuExit exit, int vector, int errorCode) {
        assertEquals(ExitReason.VECTOR, exit.reason());
        assertEquals(vector, exit.vector());
        assertEquals(errorCode, exit.errorCode());
    }

    @Test
    void aNewBaseIsSeenByTheNextLoad() {
        try (TestMachine m = machine(load(KERNEL_DATA, Segments.DS))) {
            assertEquals(0x1111, m.cpu.gpr(X86.EAX));
            m.writeDescriptor(SLOT, MOVED, 0xfffff, RING1_DATA);
            assertExit(again(m), HOST_EXIT, 0);
            assertEquals(0x2222, m.cpu.gpr(X86.EAX));
            assertEquals(MOVED, m.cpu.saveState().segment(SegmentRegister.DS).base());
        }
    }

    @Test
    void aDescriptorMadeNotPresentFaults() {
        try (TestMachine m = machine(load(KERNEL_DATA, Segments.ES))) {
            m.writeDescriptor(SLOT, 0, 0xfffff, RING1_DATA & ~0x80);
            assertExit(again(m), X86.NP, KERNEL_DATA & 0xfffc);
            assertEquals(CODE + 4, m.cpu.eip());
        }
    }

    @Test
    void aClearedAccessedBitIsSetAgain() {
        try (TestMachine m = machine(load(KERNEL_DATA, Segments.FS))) {
            m.writeDescriptor(SLOT, 0, 0xfffff, RING1_DATA & ~1);
            assertExit(again(m), HOST_EXIT, 0);
            assertEquals(0x100, m.read32(GDT + SLOT * 8 + 4) & 0x100);
        }
    }

    @Test
    void aStackSegmentMadeReadOnlyFaults() {
        try (TestMachine m = machine(load(KERNEL_DATA, Segments.SS))) {
            m.writeDescriptor(SLOT, 0, 0xfffff, RING1_DATA & ~2);
            assertExit(again(m), X86.GP, KERNEL_DATA & 0xfffc);
        }
    }

    @Test
    void theSameSelectorAtALessPrivilegedLevelFaults() {
        // Loaded at CPL 0 (ring-0 data), then the same selector at CPL 1: #GP.
        int ring0Data = TestMachine.KERNEL_DATA0;
        TestMachine m = new TestMachine();
        try (m) {
            CpuState s = m.cpu.saveState();
            s.setSegment(SegmentRegister.CS, m.segment(TestMachine.KERNEL_CODE0));
            s.setSegment(SegmentRegister.SS, m.segment(ring0Data));
            s.setHostVector(X86.GP, true);
            m.cpu.loadState(s);
            m.program(load(ring0Data, Segments.DS));
            assertExit(m.run(), HOST_EXIT, 0);
            s = m.cpu.saveState();
            s.setSegment(SegmentRegister.CS, m.segment(TestMachine.KERNEL_CODE));
            s.setSegment(SegmentRegister.SS, m.segment(KERNEL_DATA));
            s.eip = CODE;
            m.cpu.loadStateKeepingTlb(s);
            assertExit(m.run(), X86.GP, ring0Data & 0xfffc);
        }
    }
}
