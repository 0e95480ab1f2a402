// The resume flag (EFLAGS.RF) as a program sees it in the EFLAGS image of an event:
// set for every fault (so a restarted instruction does not hit its instruction
// breakpoint again), as it was for traps and INT n, loaded by a 32-bit IRET, and
// cleared when the next instruction starts. A Linux process finds that image in the
// sigcontext of its SIGSEGV, SIGILL or SIGFPE.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.ESP;
import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_CODE;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_STACK;
import static dev.lguest.cpu.interpreter.TestMachine.PAGE_TABLE;
import static dev.lguest.cpu.interpreter.TestMachine.USER_STACK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import org.junit.jupiter.api.Test;

class ResumeFlagTest {
    private static void routeToHost(TestMachine m, int... vectors) {
        CpuState s = m.cpu.saveState();
        for (int v : vectors) {
            s.setHostVector(v, true);
        }
        m.cpu.loadState(s);
    }

    private static int resumeFlag(TestMachine m) {
        return m.cpu.saveState().eflags & X86.RF;
    }

    @Test
    void aFaultThroughTheIdtPushesRfAndASoftwareInterruptDoesNot() {
        try (TestMachine m = new TestMachine()) {
            int handler = CODE + 0x100;
            m.setGate(X86.UD, KERNEL_CODE, handler, 0xf, 0);
            m.setGate(0x80, KERNEL_CODE, handler, 0xf, 3);
            m.program(0x0f, 0x0b); // ud2
            m.load(handler, 0xcd, TestMachine.HOST_EXIT);
            m.enterUserMode(CODE, USER_STACK);
            CpuExit exit = m.run();
            assertEquals(TestMachine.HOST_EXIT, exit.vector());
            assertNotEquals(0, m.read32(KERNEL_STACK - 12) & X86.RF, "#UD's image");
            assertEquals(CODE, m.read32(KERNEL_STACK - 20));
            assertEquals(0, resumeFlag(m), "the handler runs with RF clear");

            m.program(0xcd, 0x80); // int 0x80
            m.enterUserMode(CODE, USER_STACK);
            m.run();
            assertEquals(0, m.read32(KERNEL_STACK - 12) & X86.RF, "INT n's image");
        }
    }

    @Test
    void aFaultForTheHostLeavesRfInTheStateUntilTheInstructionRunsAgain() {
        try (TestMachine m = new TestMachine()) {
            routeToHost(m, X86.PF_VECTOR);
            int page = DATA + 0x10000;
            m.write32(PAGE_TABLE + (page >>> 12) * 4, 0);
            m.program(0xa1, page & 0xff, (page >>> 8) & 0xff, (page >>> 16) & 0xff, page >>> 24, 0x90, 0xcd,
                    TestMachine.HOST_EXIT);
            CpuExit exit = m.run();
            assertEquals(X86.PF_VECTOR, exit.vector());
            assertNotEquals(0, resumeFlag(m), "the image the host pushes or resumes");
            m.write32(PAGE_TABLE + (page >>> 12) * 4, page | 7);
            m.cpu.invalidatePage(page);
            exit = m.run();
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(TestMachine.HOST_EXIT, exit.vector());
            assertEquals(3, exit.instructions());
            assertEquals(0, resumeFlag(m));
        }
    }

    @Test
    void iretLoadsRfAndTheNextInstructionClearsIt() {
        try (TestMachine m = new TestMachine()) {
            // pushfd; or dword [esp], RF; push cs; push target; iretd; target: nop; nop; int 0x1f
            int target = CODE + 0x40;
            m.program(0x9c, 0x81, 0x0c, 0x24, 0x00, 0x00, 0x01, 0x00, 0x6a, KERNEL_CODE,
                    0x68, target & 0xff, (target >>> 8) & 0xff, (target >>> 16) & 0xff, target >>> 24, 0xcf);
            m.load(target, 0x90, 0x90, 0xcd, TestMachine.HOST_EXIT);
            int esp = m.cpu.gpr(ESP);
            CpuExit exit = m.cpu.run(5);
            assertEquals(ExitReason.BUDGET, exit.reason());
            assertEquals(target, m.cpu.eip());
            assertEquals(esp, m.cpu.gpr(ESP));
            assertNotEquals(0, resumeFlag(m), "between the IRET and the next instruction");
            exit = m.cpu.run(1);
            assertEquals(ExitReason.BUDGET, exit.reason());
            assertEquals(target + 1, m.cpu.eip());
            assertEquals(0, resumeFlag(m));
        }
    }
}
