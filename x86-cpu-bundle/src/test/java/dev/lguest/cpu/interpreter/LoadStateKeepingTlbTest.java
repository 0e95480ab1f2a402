// The host moves a CPU into a trap handler with loadStateKeepingTlb: the whole state is
// taken as loadState takes it, but the TLB survives as it does on a real CPU entering a
// handler, unless the state's paging controls differ (then it is a CR3 load). Seen from
// the guest: a page table entry changed behind the TLB's back stays unseen until the
// host flushes, with loadState it is seen at once.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.EAX;
import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.PAGE_TABLE;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import org.junit.jupiter.api.Test;

class LoadStateKeepingTlbTest {
    /** The frame DATA's page table entry is pointed at behind the TLB. */
    private static final int OTHER = 0x30000;

    /** mov eax, [DATA]; int 0x1f, run once so the TLB holds DATA's translation. */
    private static TestMachine machineThatReadData() {
        TestMachine m = new TestMachine();
        m.write32(DATA, 0x1111);
        m.write32(OTHER, 0x2222);
        m.program(concat(new int[] {0xa1}, imm32(DATA), new int[] {0xcd, 0x1f}));
        assertEquals(ExitReason.VECTOR, m.run().reason());
        assertEquals(0x1111, m.cpu.gpr(EAX));
        m.write32(PAGE_TABLE + (DATA >>> 12) * 4, OTHER | 7);
        return m;
    }

    private static int readAgain(TestMachine m, boolean keepingTlb, CpuState state) {
        state.eip = CODE;
        if (keepingTlb) {
            m.cpu.loadStateKeepingTlb(state);
        } else {
            m.cpu.loadState(state);
        }
        assertEquals(ExitReason.VECTOR, m.run().reason());
        return m.cpu.gpr(EAX);
    }

    @Test
    void keepsTranslationsWhenPagingIsUnchanged() {
        try (TestMachine m = machineThatReadData()) {
            CpuState s = m.cpu.saveState();
            // TS and the registers may change without a flush, as on entering a handler.
            s.cr0 |= X86.CR0_TS;
            s.gpr[X86.EBX] = 7;
            assertEquals(0x1111, readAgain(m, true, s));
            assertEquals(7, m.cpu.gpr(X86.EBX));
            assertEquals(s.cr0, m.cpu.cr0());
        }
    }

    @Test
    void loadStateStillFlushes() {
        try (TestMachine m = machineThatReadData()) {
            assertEquals(0x2222, readAgain(m, false, m.cpu.saveState()));
        }
    }

    @Test
    void anotherCr3IsACr3Load() {
        try (TestMachine m = machineThatReadData()) {
            // The same directory at another address: the tables (now pointing DATA at
            // OTHER) are walked afresh.
            int copy = 0x6000;
            m.write32(copy, PAGE_TABLE | 7);
            CpuState s = m.cpu.saveState();
            s.cr3 = copy;
            assertEquals(0x2222, readAgain(m, true, s));
        }
    }

    @Test
    void changedDebugRegistersFlush() {
        try (TestMachine m = machineThatReadData()) {
            CpuState s = m.cpu.saveState();
            s.debugRegisters[0] = 0x12345678;
            assertEquals(0x2222, readAgain(m, true, s));
        }
    }

    @Test
    void takesTheCodeSegmentAndPrivilege() {
        try (TestMachine m = machineThatReadData()) {
            CpuState s = m.cpu.saveState();
            s.setSegment(SegmentRegister.CS, m.segment(TestMachine.USER_CODE));
            for (SegmentRegister r : new SegmentRegister[] {SegmentRegister.SS, SegmentRegister.DS}) {
                s.setSegment(r, m.segment(TestMachine.USER_DATA));
            }
            s.gpr[X86.ESP] = TestMachine.USER_STACK;
            // At CPL 3 the user translation is walked: the new entry, still a user page.
            assertEquals(0x2222, readAgain(m, true, s));
            assertEquals(3, m.cpu.saveState().cpl());
        }
    }
}
