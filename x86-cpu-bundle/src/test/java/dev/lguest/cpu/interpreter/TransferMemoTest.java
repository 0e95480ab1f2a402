// A system call's second trip into the kernel and back uses what the first one worked
// out from the descriptor tables (TransferMemo), and never once the tables may read
// otherwise. Each case makes user code at CPL 3 call a ring-1 handler through a DPL 3
// gate (as lguest's direct system call trap does) and return with IRET, then changes
// a table with the CPU's own store in the same run, where only the epoch tells the
// memo it is out of date: the next entry or return must see the change. On the
// translator (the x86-jit-bundle runs these) the stores are compiled ones.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.GDT;
import static dev.lguest.cpu.interpreter.TestMachine.HOST_EXIT;
import static dev.lguest.cpu.interpreter.TestMachine.IDT;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_CODE;
import static dev.lguest.cpu.interpreter.TestMachine.USER_CODE;
import static dev.lguest.cpu.interpreter.TestMachine.USER_DATA;
import static dev.lguest.cpu.interpreter.TestMachine.USER_STACK;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import org.junit.jupiter.api.Test;

class TransferMemoTest {
    private static final int HANDLER = CODE + 0x100;
    private static final int[] SYSCALL = {0xcd, 0x80};
    private static final int[] EXIT = {0xcd, HOST_EXIT};

    private static int[] store(int address, int value) {
        return concat(new int[] {0xc7, 0x05}, imm32(address), imm32(value));
    }

    private static void assertExit(CpuExit exit, int vector, int errorCode) {
        assertEquals(ExitReason.VECTOR, exit.reason(), exit.toString());
        assertEquals(vector, exit.vector(), exit.toString());
        assertEquals(errorCode, exit.errorCode(), exit.toString());
    }

    /** A machine whose system call handler (ring 1, gate DPL 3) only returns, and where {@code hostVector} exits too. */
    private static TestMachine machine(int hostVector) {
        TestMachine m = new TestMachine();
        CpuState s = m.cpu.saveState();
        s.setHostVector(hostVector, true);
        m.cpu.loadState(s);
        m.load(HANDLER, 0xcf);
        m.setGate(0x80, KERNEL_CODE, HANDLER, 0xe, 3);
        return m;
    }

    @Test
    void systemCallsAreDeliveredAndReturnedFromWhatTheLastOnesWorkedOut() {
        // Fails without TransferMemo: nothing would be remembered.
        try (TestMachine m = machine(X86.NP)) {
            m.load(CODE, concat(SYSCALL, SYSCALL, SYSCALL, EXIT));
            m.enterUserMode(CODE, USER_STACK);
            assertExit(m.run(), HOST_EXIT, 0);
            TransferMemo memo = m.cpu.interrupts.memo;
            assertTrue(memo.knowsEntry(0x80));
            assertEquals(HANDLER, memo.handlerEip);
            // The last IRET's answer, for the next IRET from ring 1.
            assertNotNull(memo.knownReturnCode(USER_CODE));
            assertNotNull(memo.knownReturnStack(USER_DATA));
            assertEquals(USER_STACK, m.cpu.gpr(X86.ESP));
            assertEquals(3, m.cpu.saveState().cpl());
        }
    }

    @Test
    void aGateMadeNotPresentByTheCpuStopsTheNextSystemCall() {
        try (TestMachine m = machine(X86.NP)) {
            int gateHigh = m.read32(IDT + 0x80 * 8 + 4);
            m.load(CODE, concat(SYSCALL, SYSCALL, store(IDT + 0x80 * 8 + 4, gateHigh & ~0x8000), SYSCALL, EXIT));
            m.enterUserMode(CODE, USER_STACK);
            // #NP names the gate: vector * 8 + 2 (IDT); EIP at the third INT.
            assertExit(m.run(), X86.NP, 0x80 * 8 + 2);
            assertEquals(CODE + 2 * SYSCALL.length + 10, m.cpu.eip());
        }
    }

    @Test
    void aUserCodeSegmentMadeNotPresentByTheKernelStopsTheNextReturn() {
        try (TestMachine m = machine(X86.NP)) {
            int slot = USER_CODE >>> 3;
            int high = m.read32(GDT + slot * 8 + 4);
            // The third call's handler clears the present bit of user CS, then returns.
            m.load(CODE, concat(SYSCALL, SYSCALL, new int[] {0xb8}, imm32(1), SYSCALL, EXIT));
            m.load(HANDLER, concat(new int[] {0x83, 0xf8, 0x01, 0x75, 0x0a}, // cmp eax, 1 / jne iret
                    store(GDT + slot * 8 + 4, high & ~0x8000), new int[] {0xcf}));
            m.enterUserMode(CODE, USER_STACK);
            assertExit(m.run(), X86.NP, USER_CODE & 0xfffc);
            assertEquals(1, m.cpu.saveState().cpl());
            assertEquals(HANDLER + 15, m.cpu.eip());
        }
    }

    @Test
    void aUserStackSegmentMadeReadOnlyByTheKernelStopsTheNextReturn() {
        try (TestMachine m = machine(X86.GP)) {
            int slot = USER_DATA >>> 3;
            int high = m.read32(GDT + slot * 8 + 4);
            m.load(CODE, concat(SYSCALL, SYSCALL, new int[] {0xb8}, imm32(1), SYSCALL, EXIT));
            // Type 0x1 (read-only data, accessed) instead of 0x3: no stack segment.
            m.load(HANDLER, concat(new int[] {0x83, 0xf8, 0x01, 0x75, 0x0a},
                    store(GDT + slot * 8 + 4, high & ~0x200), new int[] {0xcf}));
            m.enterUserMode(CODE, USER_STACK);
            assertExit(m.run(), X86.GP, USER_DATA & 0xfffc);
            assertEquals(1, m.cpu.saveState().cpl());
        }
    }
}
