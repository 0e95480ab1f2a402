// Interrupt delivery and IRET reuse decoded code-segment caches (Segments.decoded) and
// keep a gate's CS cache when its selector needs no new RPL. These cases check what
// that must not change: the CS an interrupt installs carries the handler's privilege
// whatever the gate selector's RPL, and an IRET reads the returned-to descriptor again
// each time, so a descriptor changed since the last IRET to the same selector is seen.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.HOST_EXIT;
import static dev.lguest.cpu.interpreter.TestMachine.USER_CODE;
import static dev.lguest.cpu.interpreter.TestMachine.USER_DATA;
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

class InterruptReuseTest {
    private static final int HANDLER = CODE + 0x100, USER_TARGET = CODE + 0x200;

    private static void assertExit(CpuExit exit, int vector, int errorCode) {
        assertEquals(ExitReason.VECTOR, exit.reason());
        assertEquals(vector, exit.vector());
        assertEquals(errorCode, exit.errorCode());
    }

    @Test
    void theGateSelectorsRplGivesWayToTheHandlersPrivilege() {
        try (TestMachine m = new TestMachine()) {
            // Ring-1 code named with RPL 3 in the gate: CS gets RPL 1, the CPL is 1.
            m.setGate(0x40, TestMachine.KERNEL_CODE | 3, HANDLER, 0xe, 1);
            m.load(HANDLER, 0xcd, HOST_EXIT);
            for (int round = 0; round < 2; round++) {
                m.program(0xcd, 0x40);
                assertExit(m.run(), HOST_EXIT, 0);
                CpuState s = m.cpu.saveState();
                assertEquals(TestMachine.KERNEL_CODE, s.segment(SegmentRegister.CS).selector());
                assertEquals(1, s.cpl());
            }
        }
    }

    @Test
    void anIretReadsTheReturnedToDescriptorEachTime() {
        try (TestMachine m = new TestMachine()) {
            CpuState s = m.cpu.saveState();
            s.setHostVector(X86.NP, true);
            m.cpu.loadState(s);
            CpuState kernel = m.cpu.saveState();
            // push ss, esp, eflags, cs, eip; iret to ring 3, which exits at once.
            m.program(concat(new int[] {0x68}, imm32(USER_DATA), new int[] {0x68}, imm32(USER_STACK),
                    new int[] {0x9c, 0x68}, imm32(USER_CODE), new int[] {0x68}, imm32(USER_TARGET), new int[] {0xcf}));
            m.load(USER_TARGET, 0xcd, HOST_EXIT);
            assertExit(m.run(), HOST_EXIT, 0);
            assertEquals(3, m.cpu.saveState().cpl());
            // The same IRET again, after the process's code segment was marked not present.
            m.writeDescriptor(USER_CODE >>> 3, 0, 0xfffff, (0xc09b | (3 << 5)) & ~0x80);
            m.cpu.loadStateKeepingTlb(kernel);
            assertExit(m.run(), X86.NP, USER_CODE & 0xfffc);
            assertEquals(1, m.cpu.saveState().cpl());
        }
    }
}
