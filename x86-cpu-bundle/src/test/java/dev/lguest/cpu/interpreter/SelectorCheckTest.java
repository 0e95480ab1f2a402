// LAR, LSL, VERR and VERW against the rules of the Intel manual: which descriptors each
// one may report (code and data always, only some system types, never for VERR/VERW),
// the privilege check (DPL against CPL and RPL, skipped for conforming code), that the
// present bit is not looked at, that null, out-of-table and missing-LDT selectors
// simply clear ZF, and that the destination is written only when ZF is set. The native
// vectors cover the same instructions on Linux's own GDT; this covers the descriptor
// kinds a user process cannot reach there, at CPL 1 as well as CPL 3.
package dev.lguest.cpu.interpreter;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import org.junit.jupiter.api.Test;

class SelectorCheckTest {
    static final int UNCHANGED = 0xdeadbeef;
    // Extra descriptors after TestMachine's own seven.
    static final int CONFORMING0 = 8 << 3, EXECUTE_ONLY3 = 9 << 3, LDT3 = 10 << 3, CALL_GATE3 = 11 << 3,
            INTERRUPT_GATE3 = 12 << 3, READ_ONLY3 = 13 << 3, ABSENT3 = 14 << 3, TSS16_3 = 15 << 3,
            PAGE_GRANULAR3 = 16 << 3;

    private static TestMachine machine(boolean user) {
        TestMachine m = new TestMachine();
        m.writeDescriptor(8, 0, 0xfffff, 0xc09e); // conforming readable code, DPL 0
        m.writeDescriptor(9, 0, 0xfffff, 0xc0f8); // execute-only code, DPL 3
        m.writeDescriptor(10, 0x7000, 0xff, 0x00e2); // LDT, DPL 3
        m.writeDescriptor(11, 0x0019, 0x1234, 0x00ec); // call gate, DPL 3
        m.writeDescriptor(12, 0x0019, 0x1234, 0x00ee); // interrupt gate, DPL 3
        m.writeDescriptor(13, 0, 0x12345, 0x40f1); // read-only data, DPL 3, byte limit
        m.writeDescriptor(14, 0, 0xfffff, 0xc073); // writable data, DPL 3, not present
        m.writeDescriptor(15, 0x3000, 0x2b, 0x00e1); // available 16-bit TSS, DPL 3
        m.writeDescriptor(16, 0, 0x00003, 0x80f3); // data, DPL 3, 4 KiB granular: limit 0x3fff
        m.cpu.gdtLimit = 17 * 8 - 1;
        if (user) {
            m.enterUserMode(TestMachine.CODE, TestMachine.USER_STACK);
        }
        return m;
    }

    /** Runs one instruction with EBX = selector and EAX = UNCHANGED; returns {EAX, ZF}. */
    private static int[] run(boolean user, int selector, int... instruction) {
        try (TestMachine m = machine(user)) {
            m.program(TestMachine.concat(instruction, new int[] {0xcd, TestMachine.HOST_EXIT}));
            m.cpu.setGpr(X86.EAX, UNCHANGED);
            m.cpu.setGpr(X86.EBX, 0xabcd0000 | selector); // only the low word is the selector
            m.cpu.setEflags((m.cpu.eflags() & ~X86.ZF) | (selector == 0x7777 ? 0 : X86.ZF));
            CpuExit exit = m.run();
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(TestMachine.HOST_EXIT, exit.vector());
            return new int[] {m.cpu.gpr(X86.EAX), (m.cpu.eflags() & X86.ZF) != 0 ? 1 : 0};
        }
    }

    private static final int[] LAR = {0x0f, 0x02, 0xc3}, LAR16 = {0x66, 0x0f, 0x02, 0xc3},
            LSL = {0x0f, 0x03, 0xc3}, LSL16 = {0x66, 0x0f, 0x03, 0xc3}, VERR = {0x0f, 0x00, 0xe3},
            VERW = {0x0f, 0x00, 0xeb};

    private static void expect(int eax, int zf, int[] actual) {
        assertEquals(zf, actual[1], "ZF");
        assertEquals(String.format("%08x", eax), String.format("%08x", actual[0]), "EAX");
    }

    private static void fails(boolean user, int selector, int[] instruction) {
        expect(UNCHANGED, 0, run(user, selector, instruction));
    }

    @Test
    void larReportsTheAccessRightsWithLimitBits() {
        expect(0x00cff300, 1, run(true, TestMachine.USER_DATA, LAR));
        expect(0xdeadf300, 1, run(true, TestMachine.USER_DATA, LAR16));
        expect(0x00cffb00, 1, run(true, TestMachine.USER_CODE, LAR));
        expect(0x0041f100, 1, run(true, READ_ONLY3 | 3, LAR)); // limit 19:16 (1) shows through
    }

    @Test
    void lslReportsTheByteLimit() {
        expect(0xffffffff, 1, run(true, TestMachine.USER_DATA, LSL));
        expect(0xdeadffff, 1, run(true, TestMachine.USER_DATA, LSL16));
        expect(0x00012345, 1, run(true, READ_ONLY3, LSL));
        expect(0x00003fff, 1, run(true, PAGE_GRANULAR3 | 3, LSL));
        expect(0x000000ff, 1, run(true, LDT3, LSL));
        expect(0x0000002b, 1, run(true, TSS16_3, LSL));
    }

    @Test
    void privilegeChecksUseCplAndRpl() {
        fails(true, TestMachine.KERNEL_DATA0, LAR); // DPL 0 < CPL 3
        fails(true, TestMachine.KERNEL_DATA, LSL); // DPL 1 < CPL 3
        fails(false, TestMachine.KERNEL_DATA0, VERR); // DPL 0 < CPL 1
        expect(0x00cff300 & ~0x6000 | 0x2000, 1, run(false, TestMachine.KERNEL_DATA, LAR)); // DPL 1 at CPL 1
        fails(false, TestMachine.KERNEL_DATA | 3, LAR); // RPL 3 > DPL 1
        expect(UNCHANGED, 1, run(false, TestMachine.KERNEL_DATA, VERW));
        // Conforming code is visible whatever the privilege.
        expect(0x00cf9e00, 1, run(true, CONFORMING0 | 3, LAR));
        expect(UNCHANGED, 1, run(true, CONFORMING0 | 3, VERR));
        fails(true, CONFORMING0 | 3, VERW);
    }

    @Test
    void systemDescriptorsFollowTheirOwnLists() {
        expect(0x0000e200, 1, run(true, LDT3, LAR));
        expect(0x0000ec00, 1, run(true, CALL_GATE3, LAR));
        fails(true, CALL_GATE3, LSL); // gates have no limit
        fails(true, INTERRUPT_GATE3, LAR); // not a type LAR reports
        fails(true, INTERRUPT_GATE3, LSL);
        expect(0x0000e100, 1, run(true, TSS16_3, LAR));
        fails(true, LDT3, VERR);
        fails(true, TSS16_3, VERW);
    }

    @Test
    void verrAndVerwCheckReadAndWriteRights() {
        expect(UNCHANGED, 1, run(true, TestMachine.USER_DATA, VERR));
        expect(UNCHANGED, 1, run(true, TestMachine.USER_DATA, VERW));
        expect(UNCHANGED, 1, run(true, TestMachine.USER_CODE, VERR));
        fails(true, TestMachine.USER_CODE, VERW);
        fails(true, EXECUTE_ONLY3 | 3, VERR);
        expect(0x00cff800, 1, run(true, EXECUTE_ONLY3 | 3, LAR));
        expect(UNCHANGED, 1, run(true, READ_ONLY3, VERR));
        fails(true, READ_ONLY3, VERW);
    }

    @Test
    void thePresentBitIsNotChecked() {
        expect(0x00cf7300, 1, run(true, ABSENT3 | 3, LAR));
        expect(0xffffffff, 1, run(true, ABSENT3 | 3, LSL));
        expect(UNCHANGED, 1, run(true, ABSENT3 | 3, VERR));
        expect(UNCHANGED, 1, run(true, ABSENT3 | 3, VERW));
    }

    @Test
    void unusableSelectorsClearZfWithoutFaulting() {
        for (int[] instruction : new int[][] {LAR, LSL, VERR, VERW}) {
            fails(true, 0, instruction); // null
            fails(true, 3, instruction); // null with an RPL
            fails(true, 0x1000, instruction); // beyond the GDT limit
            fails(true, TestMachine.USER_DATA | 4, instruction); // into an LDT that is not loaded
            fails(false, 0x1000 | 1, instruction);
        }
    }

    @Test
    void aMemoryOperandIsAWordAndCanFault() {
        try (TestMachine m = machine(true)) {
            m.write16(TestMachine.DATA, TestMachine.USER_DATA);
            m.write16(TestMachine.DATA + 2, 0xffff);
            // lar eax, [DATA]; int 0x1f
            m.program(TestMachine.concat(new int[] {0x0f, 0x02, 0x05}, TestMachine.imm32(TestMachine.DATA),
                    new int[] {0xcd, TestMachine.HOST_EXIT}));
            m.cpu.loadState(withHostPageFaults(m));
            CpuExit exit = m.run();
            assertEquals(TestMachine.HOST_EXIT, exit.vector());
            assertEquals(0x00cff300, m.cpu.gpr(X86.EAX));
            // lsl eax, [0x7ffffffe]: unmapped, so a page fault on the operand.
            m.program(TestMachine.concat(new int[] {0x0f, 0x03, 0x05}, TestMachine.imm32(0x7ffffffe)));
            exit = m.run();
            assertEquals(X86.PF_VECTOR, exit.vector());
            assertEquals(0x7ffffffe, m.cpu.cr2);
            assertEquals(TestMachine.CODE, m.cpu.eip());
        }
    }

    private static dev.lguest.api.cpu.CpuState withHostPageFaults(TestMachine m) {
        dev.lguest.api.cpu.CpuState s = m.cpu.saveState();
        s.setHostVector(X86.PF_VECTOR, true);
        return s;
    }
}
