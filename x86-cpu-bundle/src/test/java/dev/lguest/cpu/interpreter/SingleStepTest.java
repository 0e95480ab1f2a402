// The single-step trap (EFLAGS.TF): #DB after every instruction that began with TF set,
// with the EIP of the next one, as a debugger or a program that sets TF sees on an i686.
// The rules tested are the Intel manual's: TF at the start of an instruction decides,
// faults and INT n do not trap, MOV SS holds the trap back one instruction, a REP string
// instruction traps after each iteration. A Linux process that sets TF depends on them
// (its signal comes from the #DB), across its system calls too.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.EAX;
import static dev.lguest.api.cpu.X86.ECX;
import static dev.lguest.api.cpu.X86.EDI;
import static dev.lguest.api.cpu.X86.ESI;
import static dev.lguest.api.cpu.X86.ESP;
import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_CODE;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_STACK;
import static dev.lguest.cpu.interpreter.TestMachine.PAGE_TABLE;
import static dev.lguest.cpu.interpreter.TestMachine.USER_CODE;
import static dev.lguest.cpu.interpreter.TestMachine.USER_STACK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import org.junit.jupiter.api.Test;

class SingleStepTest {
    private static final int PUSHFD = 0x9c, POPFD = 0x9d, NOP = 0x90;
    private static final int[] SET_TF_ON_STACK = {0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00}; // or dword [esp], 0x100
    private static final int[] CLEAR_TF_ON_STACK = {0x81, 0x24, 0x24, 0xff, 0xfe, 0xff, 0xff}; // and dword [esp], ~0x100
    private static final int[] HOST_EXIT = {0xcd, TestMachine.HOST_EXIT};

    private static void routeToHost(TestMachine m, int... vectors) {
        CpuState s = m.cpu.saveState();
        for (int v : vectors) {
            s.setHostVector(v, true);
        }
        m.cpu.loadState(s);
    }

    private static void setTrapFlag(TestMachine m) {
        CpuState s = m.cpu.saveState();
        s.eflags |= X86.TF;
        m.cpu.loadState(s);
    }

    private static void assertExit(CpuExit exit, int vector, int eip, TestMachine m) {
        assertEquals(ExitReason.VECTOR, exit.reason(), exit::toString);
        assertEquals(vector, exit.vector(), exit::toString);
        assertEquals(eip, m.cpu.eip(), () -> "eip " + Integer.toHexString(m.cpu.eip()));
    }

    private static boolean trapFlag(TestMachine m) {
        return (m.cpu.saveState().eflags & X86.TF) != 0;
    }

    @Test
    void popfSettingTfTrapsAfterTheNextInstructionNotAfterItself() {
        try (TestMachine m = new TestMachine()) {
            routeToHost(m, X86.DB);
            // One straight block: pushfd; or [esp], TF; popfd; nop; nop; int 0x1f
            m.program(TestMachine.concat(new int[] {PUSHFD}, SET_TF_ON_STACK, new int[] {POPFD, NOP, NOP}, HOST_EXIT));
            int popfEnd = CODE + 1 + SET_TF_ON_STACK.length + 1;
            CpuExit exit = m.run();
            assertExit(exit, X86.DB, popfEnd + 1, m);
            assertEquals(4, exit.instructions(), "pushfd, or, popfd and the first nop");
            assertNotEquals(0, m.cpu.debugRegisters[6] & InterpreterCpu.DR6_SINGLE_STEP, "DR6.BS");
            assertEquals(true, trapFlag(m), "the trap leaves TF set for the host to see");
            assertExit(m.run(), X86.DB, popfEnd + 2, m);
            // INT n clears TF on its way in: the host exit comes, no #DB after it.
            assertExit(m.run(), TestMachine.HOST_EXIT, popfEnd + 4, m);
        }
    }

    @Test
    void popfClearingTfIsTheLastInstructionTrapped() {
        try (TestMachine m = new TestMachine()) {
            routeToHost(m, X86.DB);
            m.program(TestMachine.concat(new int[] {PUSHFD}, CLEAR_TF_ON_STACK, new int[] {POPFD, NOP, NOP}, HOST_EXIT));
            setTrapFlag(m);
            int andEnd = CODE + 1 + CLEAR_TF_ON_STACK.length;
            assertExit(m.run(), X86.DB, CODE + 1, m);
            assertExit(m.run(), X86.DB, andEnd, m);
            assertExit(m.run(), X86.DB, andEnd + 1, m);
            CpuExit exit = m.run();
            assertExit(exit, TestMachine.HOST_EXIT, andEnd + 5, m);
            assertEquals(3, exit.instructions(), "nop, nop, int: no longer stepped");
        }
    }

    @Test
    void aSystemCallIsNotSteppedButTheInstructionAfterItsReturnIs() {
        try (TestMachine m = new TestMachine()) {
            routeToHost(m, X86.DB);
            int handler = CODE + 0x100;
            m.setGate(0x80, KERNEL_CODE, handler, 0xf, 3);
            // Ring 3: int 0x80; nop; nop.  Ring 1 handler: mov eax, 42; nop; iret
            m.program(0xcd, 0x80, NOP, NOP);
            m.load(handler, 0xb8, 42, 0, 0, 0, NOP, 0xcf);
            m.enterUserMode(CODE, USER_STACK);
            setTrapFlag(m);
            CpuExit exit = m.run();
            // The kernel ran untraced (INT cleared TF, IRET restored it); IRET itself
            // began with TF clear, so the first trap follows the first user nop.
            assertExit(exit, X86.DB, CODE + 3, m);
            assertEquals(5, exit.instructions(), "int, mov, nop, iret, nop");
            assertEquals(42, m.cpu.gpr(EAX));
            CpuState s = m.cpu.saveState();
            assertEquals(USER_CODE, s.segment(SegmentRegister.CS).selector());
            assertEquals(USER_STACK, s.gpr[ESP]);
            assertNotEquals(0, m.read32(KERNEL_STACK - 12) & X86.TF, "the INT pushed EFLAGS with TF");
        }
    }

    @Test
    void theTrapThroughTheIdtPushesTheNextEipAndEntersTheHandlerUntraced() {
        try (TestMachine m = new TestMachine()) {
            int handler = CODE + 0x100;
            m.setGate(X86.DB, KERNEL_CODE, handler, 0xe, 0);
            m.program(NOP, NOP);
            m.load(handler, NOP, HOST_EXIT[0], HOST_EXIT[1]);
            m.enterUserMode(CODE, USER_STACK);
            setTrapFlag(m);
            CpuExit exit = m.run();
            assertExit(exit, TestMachine.HOST_EXIT, handler + 3, m);
            assertEquals(3, exit.instructions(), "the user nop, the handler's nop and int");
            assertEquals(CODE + 1, m.read32(KERNEL_STACK - 20), "the trap's EIP: the next instruction");
            assertEquals(USER_CODE, m.read32(KERNEL_STACK - 16));
            assertNotEquals(0, m.read32(KERNEL_STACK - 12) & X86.TF);
            assertEquals(false, trapFlag(m));
        }
    }

    @Test
    void aFaultingInstructionIsNotTrappedUntilItCompletes() {
        try (TestMachine m = new TestMachine()) {
            routeToHost(m, X86.DB, X86.PF_VECTOR);
            int page = DATA + 0x10000;
            m.write32(PAGE_TABLE + (page >>> 12) * 4, 0);
            m.program(TestMachine.concat(new int[] {0xa1}, TestMachine.imm32(page), new int[] {NOP})); // mov eax, [page]
            setTrapFlag(m);
            assertExit(m.run(), X86.PF_VECTOR, CODE, m);
            assertEquals(true, trapFlag(m));
            m.write32(PAGE_TABLE + (page >>> 12) * 4, page | 7);
            m.cpu.invalidatePage(page);
            m.write32(page, 0x1234);
            assertExit(m.run(), X86.DB, CODE + 5, m);
            assertEquals(0x1234, m.cpu.gpr(EAX));
        }
    }

    @Test
    void aRepeatedStringInstructionTrapsAfterEachIteration() {
        try (TestMachine m = new TestMachine()) {
            routeToHost(m, X86.DB);
            m.program(0xf3, 0xa4, NOP); // rep movsb
            m.load(DATA, 1, 2, 3);
            CpuState s = m.cpu.saveState();
            s.gpr[ESI] = DATA;
            s.gpr[EDI] = DATA + 0x100;
            s.gpr[ECX] = 3;
            m.cpu.loadState(s);
            setTrapFlag(m);
            // Between iterations the image has RF set (the Intel manual's rule for
            // traps and interrupts after any iteration but the last).
            assertExit(m.run(), X86.DB, CODE, m);
            assertEquals(2, m.cpu.gpr(ECX));
            assertNotEquals(0, m.cpu.saveState().eflags & X86.RF);
            assertExit(m.run(), X86.DB, CODE, m);
            assertEquals(1, m.cpu.gpr(ECX));
            assertExit(m.run(), X86.DB, CODE + 2, m);
            assertEquals(0, m.cpu.gpr(ECX));
            assertEquals(0, m.cpu.saveState().eflags & X86.RF);
            assertEquals(0x030201, m.read32(DATA + 0x100) & 0xffffff);
        }
    }

    @Test
    void movSsHoldsTheTrapBackForOneInstruction() {
        try (TestMachine m = new TestMachine()) {
            routeToHost(m, X86.DB);
            // mov ax, KERNEL_DATA; mov ss, ax; nop; nop
            m.program(0x66, 0xb8, TestMachine.KERNEL_DATA, 0, 0x8e, 0xd0, NOP, NOP);
            setTrapFlag(m);
            assertExit(m.run(), X86.DB, CODE + 4, m);
            CpuExit exit = m.run();
            assertExit(exit, X86.DB, CODE + 7, m);
            assertEquals(2, exit.instructions(), "mov ss and the nop after it, one trap");
        }
    }
}
