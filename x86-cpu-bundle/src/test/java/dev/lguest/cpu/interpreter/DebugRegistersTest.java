// The debug registers as an i686 has them (Intel SDM vol. 3, 17.2-17.3): DR7 enables
// breakpoint n with a kind and a length and DR0-DR3 hold the linear addresses. An
// instruction breakpoint is a fault before the instruction (EIP at it, resumed past by
// RF), a data breakpoint a trap after the access (EIP past the instruction), each with
// its B bit in DR6. The host's debugger (the gdb stub) programs them through CpuState.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.EAX;
import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import org.junit.jupiter.api.Test;

class DebugRegistersTest {
    private static final int NOP = 0x90;
    private static final int[] HOST_EXIT = {0xcd, TestMachine.HOST_EXIT};

    /** Routes #DB to the host and programs breakpoint n. */
    private static void breakpoint(TestMachine m, int n, int address, int kind, int length) {
        CpuState s = m.cpu.saveState();
        s.setHostVector(X86.DB, true);
        s.debugRegisters[n] = address;
        s.debugRegisters[7] |= X86.dr7Fields(n, kind, length);
        m.cpu.loadState(s);
    }

    private static void assertDebugExit(CpuExit exit, int eip, int dr6Bits, TestMachine m) {
        assertEquals(ExitReason.VECTOR, exit.reason(), exit::toString);
        assertEquals(X86.DB, exit.vector(), exit::toString);
        assertEquals(eip, m.cpu.eip(), () -> "eip " + Integer.toHexString(m.cpu.eip()));
        assertEquals(dr6Bits, m.cpu.saveState().debugRegisters[6] & 0xf, "DR6 B0-B3");
    }

    private static void clearDr6(TestMachine m) {
        CpuState s = m.cpu.saveState();
        s.debugRegisters[6] = 0;
        m.cpu.loadState(s);
    }

    @Test
    void anInstructionBreakpointFaultsBeforeTheInstructionAndRfResumesPastIt() {
        try (TestMachine m = new TestMachine()) {
            m.program(TestMachine.concat(new int[] {NOP, NOP, NOP}, HOST_EXIT));
            breakpoint(m, 2, CODE + 1, X86.DR7_RW_EXECUTE, 1);
            CpuExit exit = m.run();
            assertDebugExit(exit, CODE + 1, 1 << 2, m);
            assertEquals(1, exit.instructions(), "only the first nop ran");
            assertNotEquals(0, m.cpu.saveState().eflags & X86.RF, "a fault leaves RF set for the host");
            clearDr6(m);
            exit = m.run();
            assertEquals(TestMachine.HOST_EXIT, exit.vector(), "RF lets the instruction run once");
            assertEquals(0, m.cpu.saveState().debugRegisters[6] & 0xf);
        }
    }

    @Test
    void aDisabledBreakpointDoesNothing() {
        try (TestMachine m = new TestMachine()) {
            m.program(TestMachine.concat(new int[] {NOP, NOP}, HOST_EXIT));
            CpuState s = m.cpu.saveState();
            s.setHostVector(X86.DB, true);
            s.debugRegisters[0] = CODE + 1;
            // R/W and LEN set, but neither L0 nor G0.
            s.debugRegisters[7] = X86.dr7Fields(0, X86.DR7_RW_EXECUTE, 1) & ~X86.DR7_ENABLES;
            m.cpu.loadState(s);
            assertEquals(TestMachine.HOST_EXIT, m.run().vector());
        }
    }

    @Test
    void aWriteWatchpointTrapsAfterTheStoringInstruction() {
        try (TestMachine m = new TestMachine()) {
            // mov [DATA], eax; nop; mov eax, [DATA]; int 0x1f
            m.program(TestMachine.concat(new int[] {0xa3}, TestMachine.imm32(DATA), new int[] {NOP, 0xa1},
                    TestMachine.imm32(DATA), HOST_EXIT));
            m.cpu.setGpr(EAX, 0x1234);
            breakpoint(m, 1, DATA, X86.DR7_RW_WRITE, 4);
            CpuExit exit = m.run();
            assertDebugExit(exit, CODE + 5, 1 << 1, m);
            assertEquals(0x1234, m.read32(DATA), "the store was done");
            clearDr6(m);
            // The read of a write-only watch goes by.
            assertEquals(TestMachine.HOST_EXIT, m.run().vector());
        }
    }

    @Test
    void aReadWriteWatchpointSeesAReadOverlappingIt() {
        try (TestMachine m = new TestMachine()) {
            // mov eax, [DATA+6]; mov eax, [DATA+2]; int 0x1f
            m.program(TestMachine.concat(new int[] {0xa1}, TestMachine.imm32(DATA + 6), new int[] {0xa1},
                    TestMachine.imm32(DATA + 2), HOST_EXIT));
            // Four bytes at DATA+4..7: the first read (DATA+6..9) overlaps, the second
            // (DATA+2..5) too, from below.
            breakpoint(m, 0, DATA + 4, X86.DR7_RW_READ_WRITE, 4);
            assertDebugExit(m.run(), CODE + 5, 1, m);
            clearDr6(m);
            assertDebugExit(m.run(), CODE + 10, 1, m);
        }
    }

    @Test
    void aWatchIsAlignedToItsLengthAndMissesBytesBesideIt() {
        try (TestMachine m = new TestMachine()) {
            // mov byte [DATA+2], al; mov byte [DATA], al; int 0x1f
            m.program(TestMachine.concat(new int[] {0xa2}, TestMachine.imm32(DATA + 2), new int[] {0xa2},
                    TestMachine.imm32(DATA), HOST_EXIT));
            // DR3 = DATA+1 with length 2 watches DATA..DATA+1: the CPU ignores address bit 0.
            breakpoint(m, 3, DATA + 1, X86.DR7_RW_WRITE, 2);
            assertDebugExit(m.run(), CODE + 10, 1 << 3, m);
        }
    }

    @Test
    void aWatchpointAndTheSingleStepTrapComeAsOneDebugException() {
        try (TestMachine m = new TestMachine()) {
            m.program(TestMachine.concat(new int[] {0xa3}, TestMachine.imm32(DATA), new int[] {NOP}, HOST_EXIT));
            breakpoint(m, 0, DATA, X86.DR7_RW_WRITE, 4);
            CpuState s = m.cpu.saveState();
            s.eflags |= X86.TF;
            m.cpu.loadState(s);
            CpuExit exit = m.run();
            assertDebugExit(exit, CODE + 5, 1, m);
            assertNotEquals(0, m.cpu.saveState().debugRegisters[6] & X86.DR6_BS, "DR6.BS too");
            assertEquals(1, exit.instructions());
        }
    }

    @Test
    void theDebugRegistersTravelInTheState() {
        try (TestMachine m = new TestMachine()) {
            breakpoint(m, 1, 0xc0101234, X86.DR7_RW_READ_WRITE, 2);
            CpuState s = m.cpu.saveState();
            assertEquals(0xc0101234, s.debugRegisters[1]);
            assertEquals(s, s.copy());
            CpuState other = s.copy();
            other.debugRegisters[1] = 0;
            assertNotEquals(s, other);
        }
    }
}
