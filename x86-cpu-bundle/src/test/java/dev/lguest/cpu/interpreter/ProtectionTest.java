// Paging, faults, host routing, privilege changes and the TLB: the outcomes the host
// depends on when it runs a guest kernel at CPL 1 and its programs at CPL 3.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.EAX;
import static dev.lguest.api.cpu.X86.ESP;
import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_CODE;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_DATA;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_STACK;
import static dev.lguest.cpu.interpreter.TestMachine.PAGE_DIRECTORY;
import static dev.lguest.cpu.interpreter.TestMachine.PAGE_TABLE;
import static dev.lguest.cpu.interpreter.TestMachine.USER_CODE;
import static dev.lguest.cpu.interpreter.TestMachine.USER_DATA;
import static dev.lguest.cpu.interpreter.TestMachine.USER_STACK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import org.junit.jupiter.api.Test;

class ProtectionTest {
    private static void routeToHost(TestMachine m, int... vectors) {
        CpuState s = m.cpu.saveState();
        for (int v : vectors) {
            s.setHostVector(v, true);
        }
        m.cpu.loadState(s);
    }

    private static void assertVectorExit(CpuExit exit, int vector, int errorCode) {
        assertEquals(ExitReason.VECTOR, exit.reason(), exit::toString);
        assertEquals(vector, exit.vector(), exit::toString);
        assertEquals(errorCode, exit.errorCode(), exit::toString);
    }

    @Test
    void pageFaultOnUnmappedPageIsRestartable() {
        try (TestMachine m = new TestMachine()) {
            routeToHost(m, X86.PF_VECTOR);
            // mov eax, 0x1234; mov eax, [0x400000]; int 0x1f
            m.program(0xb8, 0x34, 0x12, 0, 0, 0xa1, 0x00, 0x00, 0x40, 0x00, 0xcd, 0x1f);
            CpuExit exit = m.run();
            assertVectorExit(exit, X86.PF_VECTOR, 0);
            assertEquals(1, exit.instructions());
            CpuState s = m.cpu.saveState();
            assertEquals(0x400000, s.cr2);
            assertEquals(CODE + 5, s.eip);
            assertEquals(0x1234, s.gpr[EAX]);
            // Map the second 4 MiB onto the first and restart the same instruction.
            m.write32(PAGE_DIRECTORY + 4, PAGE_TABLE | 7);
            m.write32(DATA, 0xcafef00d);
            m.write32(0, 0x600dcafe);
            assertVectorExit(m.run(), 0x1f, 0);
            assertEquals(0x600dcafe, m.cpu.gpr(EAX));
        }
    }

    @Test
    void supervisorWriteToReadOnlyPageFaultsWithWriteProtect() {
        try (TestMachine m = new TestMachine()) {
            routeToHost(m, X86.PF_VECTOR);
            m.write32(PAGE_TABLE + (DATA >>> 12) * 4, DATA | 5); // present, user, read-only
            // mov [DATA], eax
            m.program(0xa3, 0x00, 0x00, 0x02, 0x00, 0xcd, 0x1f);
            assertVectorExit(m.run(), X86.PF_VECTOR, X86.PF_PROT | X86.PF_WRITE);
            assertEquals(DATA, m.cpu.saveState().cr2);
            assertEquals(CODE, m.cpu.eip());
        }
    }

    @Test
    void accessedAndDirtyBitsAreSet() {
        try (TestMachine m = new TestMachine()) {
            int pte = PAGE_TABLE + (DATA >>> 12) * 4;
            // mov eax, [DATA]; int 0x1f; mov [DATA], eax; int 0x1f
            m.program(0xa1, 0, 0, 2, 0, 0xcd, 0x1f, 0xa3, 0, 0, 2, 0, 0xcd, 0x1f);
            m.run();
            assertEquals(X86.PTE_ACCESSED, m.read32(pte) & (X86.PTE_ACCESSED | X86.PTE_DIRTY));
            m.run();
            assertEquals(X86.PTE_ACCESSED | X86.PTE_DIRTY, m.read32(pte) & (X86.PTE_ACCESSED | X86.PTE_DIRTY));
        }
    }

    @Test
    void hostRoutedSoftwareInterruptStopsAfterTheInstruction() {
        try (TestMachine m = new TestMachine()) {
            m.program(0x90, 0xcd, 0x1f);
            int esp = m.cpu.gpr(ESP);
            CpuExit exit = m.run();
            assertVectorExit(exit, 0x1f, 0);
            assertEquals(2, exit.instructions());
            assertEquals(CODE + 3, m.cpu.eip());
            assertEquals(esp, m.cpu.gpr(ESP), "nothing pushed");
        }
    }

    @Test
    void haltAtCpl1IsAGeneralProtectionFaultAtTheHalt() {
        try (TestMachine m = new TestMachine()) {
            routeToHost(m, X86.GP);
            m.program(0x90, 0xf4);
            CpuExit exit = m.run();
            assertVectorExit(exit, X86.GP, 0);
            assertEquals(CODE + 1, m.cpu.eip());
        }
    }

    @Test
    void privilegedInstructionsFaultOutsideRing0() {
        int[][] programs = {
            {0x0f, 0x20, 0xd8}, // mov eax, cr3
            {0x0f, 0x01, 0x15, 0, 0, 2, 0}, // lgdt [DATA]
            {0x0f, 0x06}, // clts
            {0xe4, 0x60}, // in al, 0x60 (IOPL 0, no bitmap)
            {0x0f, 0x01, 0x3d, 0, 0, 2, 0}, // invlpg [DATA]
        };
        for (int[] program : programs) {
            try (TestMachine m = new TestMachine()) {
                routeToHost(m, X86.GP);
                m.program(program);
                assertVectorExit(m.run(), X86.GP, 0);
                assertEquals(CODE, m.cpu.eip());
            }
        }
    }

    @Test
    void sysenterAndSysexitInAProcessAreGeneralProtectionFaults() {
        // No MSRs here, and lguest zeroes IA32_SYSENTER_CS for its guests: #GP(0), not #UD.
        for (int[] program : new int[][] {{0x0f, 0x34}, {0x0f, 0x35}}) {
            try (TestMachine m = new TestMachine()) {
                routeToHost(m, X86.GP, X86.UD);
                m.program(program);
                m.enterUserMode(CODE, USER_STACK);
                assertVectorExit(m.run(), X86.GP, 0);
                assertEquals(CODE, m.cpu.eip());
            }
        }
    }

    @Test
    void int1IsADebugTrapWhateverTheGatesDpl() {
        try (TestMachine m = new TestMachine()) {
            routeToHost(m, X86.GP);
            int handler = CODE + 0x100;
            m.setGate(X86.DB, KERNEL_CODE, handler, 0xe, 0);
            m.program(0xf1, 0x90);
            m.load(handler, 0xcd, 0x1f);
            m.enterUserMode(CODE, USER_STACK);
            assertVectorExit(m.run(), 0x1f, 0);
            assertEquals(CODE + 1, m.read32(KERNEL_STACK - 20), "a trap: the next EIP");
            // INT n with the same DPL-0 gate is a #GP instead.
            m.program(0xcd, 0x01);
            m.enterUserMode(CODE, USER_STACK);
            assertVectorExit(m.run(), X86.GP, 0x0a);
        }
    }

    @Test
    void userSystemCallThroughTrapGateSwitchesStacksAndIretReturns() {
        try (TestMachine m = new TestMachine()) {
            int handler = CODE + 0x100;
            m.setGate(0x80, KERNEL_CODE, handler, 0xf, 3);
            // Ring 3: mov eax, 1; int 0x80; int 0x1f
            m.program(0xb8, 1, 0, 0, 0, 0xcd, 0x80, 0xcd, 0x1f);
            // Ring 1 handler: add eax, 41; int 0x1f; iret
            m.load(handler, 0x83, 0xc0, 41, 0xcd, 0x1f, 0xcf);
            m.enterUserMode(CODE, USER_STACK);
            int userFlags = m.cpu.saveState().eflags;

            CpuExit exit = m.run();
            assertVectorExit(exit, 0x1f, 0);
            CpuState s = m.cpu.saveState();
            assertEquals(KERNEL_CODE, s.segment(SegmentRegister.CS).selector());
            assertEquals(KERNEL_DATA, s.segment(SegmentRegister.SS).selector());
            assertEquals(KERNEL_STACK - 20, s.gpr[ESP]);
            assertEquals(CODE + 7, m.read32(KERNEL_STACK - 20), "return EIP");
            assertEquals(USER_CODE, m.read32(KERNEL_STACK - 16));
            assertEquals(userFlags, m.read32(KERNEL_STACK - 12));
            assertEquals(USER_STACK, m.read32(KERNEL_STACK - 8));
            assertEquals(USER_DATA, m.read32(KERNEL_STACK - 4));
            assertEquals(handler + 5, s.eip);

            exit = m.run();
            assertVectorExit(exit, 0x1f, 0);
            s = m.cpu.saveState();
            assertEquals(3, s.cpl());
            assertEquals(USER_CODE, s.segment(SegmentRegister.CS).selector());
            assertEquals(USER_DATA, s.segment(SegmentRegister.SS).selector());
            assertEquals(USER_STACK, s.gpr[ESP]);
            assertEquals(42, s.gpr[EAX]);
            assertEquals(CODE + 9, s.eip);
        }
    }

    @Test
    void iretToRing3NullsKernelDataSegments() {
        try (TestMachine m = new TestMachine()) {
            // Ring 1: push USER_DATA; push USER_STACK; pushfd; push USER_CODE; push target; iret
            int target = CODE + 0x40;
            m.program(0x6a, USER_DATA, 0x68, 0x00, 0x00, 0x09, 0x00, 0x9c, 0x6a, USER_CODE,
                    0x68, target & 0xff, (target >>> 8) & 0xff, target >>> 16, 0, 0xcf);
            m.load(target, 0xcd, 0x1f);
            assertVectorExit(m.run(), 0x1f, 0);
            CpuState s = m.cpu.saveState();
            assertEquals(3, s.cpl());
            assertEquals(USER_STACK, s.gpr[ESP]);
            assertEquals(0, s.segment(SegmentRegister.DS).selector(), "DS held a DPL 1 segment");
            assertEquals(0, s.segment(SegmentRegister.ES).selector());
        }
    }

    @Test
    void userCannotUseKernelGateOrPages() {
        try (TestMachine m = new TestMachine()) {
            routeToHost(m, X86.GP, X86.PF_VECTOR);
            m.setGate(0x81, KERNEL_CODE, CODE, 0xe, 1);
            m.program(0xcd, 0x81);
            m.enterUserMode(CODE, USER_STACK);
            assertVectorExit(m.run(), X86.GP, 0x81 * 8 + 2);
            assertEquals(CODE, m.cpu.eip());
        }
        try (TestMachine m = new TestMachine()) {
            routeToHost(m, X86.PF_VECTOR);
            m.write32(PAGE_TABLE + (DATA >>> 12) * 4, DATA | 3); // supervisor only
            m.program(0xa1, 0, 0, 2, 0);
            m.enterUserMode(CODE, USER_STACK);
            assertVectorExit(m.run(), X86.PF_VECTOR, X86.PF_PROT | X86.PF_USER);
        }
    }

    @Test
    void faultDeliveredThroughIdtPushesErrorCode() {
        try (TestMachine m = new TestMachine()) {
            int handler = CODE + 0x200;
            m.setGate(X86.GP, KERNEL_CODE, handler, 0xe, 0);
            m.load(handler, 0xcd, 0x1f);
            m.program(0xf4); // hlt at CPL 1
            assertVectorExit(m.run(), 0x1f, 0);
            assertEquals(KERNEL_STACK - 16, m.cpu.gpr(ESP));
            assertEquals(0, m.read32(KERNEL_STACK - 16), "error code");
            assertEquals(CODE, m.read32(KERNEL_STACK - 12), "faulting EIP");
            assertEquals(0, m.cpu.saveState().eflags & X86.IF);
        }
    }

    @Test
    void missingHandlerEscalatesToDoubleFaultAndShutdown() {
        try (TestMachine m = new TestMachine()) {
            m.program(0x31, 0xdb, 0xf7, 0xf3); // div by zero, no IDT entry for #DE
            m.setGate(X86.DE, KERNEL_CODE, CODE, 0xe, 0);
            m.write32(TestMachine.IDT + 4, 0); // not present -> #NP -> #DF -> shutdown
            CpuExit exit = m.run();
            assertEquals(ExitReason.SHUTDOWN, exit.reason());
        }
        try (TestMachine m = new TestMachine()) {
            routeToHost(m, X86.DF_VECTOR);
            m.program(0x31, 0xdb, 0xf7, 0xf3);
            assertVectorExit(m.run(), X86.DF_VECTOR, 0);
        }
    }

    @Test
    void tlbKeepsTranslationsUntilInvalidated() {
        try (TestMachine m = new TestMachine()) {
            int other = DATA + 0x1000;
            m.write32(DATA, 111);
            m.write32(other, 222);
            int[] readAndExit = {0xa1, 0, 0, 2, 0, 0xcd, 0x1f};
            m.program(TestMachine.concat(readAndExit, readAndExit, readAndExit, readAndExit));
            m.run();
            assertEquals(111, m.cpu.gpr(EAX));
            m.write32(PAGE_TABLE + (DATA >>> 12) * 4, other | 7);
            m.run();
            assertEquals(111, m.cpu.gpr(EAX), "stale translation still cached");
            m.cpu.invalidatePage(DATA);
            m.run();
            assertEquals(222, m.cpu.gpr(EAX));
            m.write32(PAGE_TABLE + (DATA >>> 12) * 4, DATA | 7);
            m.cpu.setCr3(PAGE_DIRECTORY);
            m.run();
            assertEquals(111, m.cpu.gpr(EAX));
        }
    }

    @Test
    void budgetAndInterruptStopTheCpu() throws Exception {
        try (TestMachine m = new TestMachine()) {
            m.program(0xeb, 0xfe); // jmp $
            CpuExit exit = m.cpu.run(1000);
            assertEquals(ExitReason.BUDGET, exit.reason());
            assertEquals(1000, exit.instructions());
            Thread stopper = new Thread(() -> {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                m.cpu.interrupt();
            });
            stopper.start();
            exit = m.cpu.run(Long.MAX_VALUE);
            stopper.join();
            assertEquals(ExitReason.INTERRUPTED, exit.reason());
            assertEquals(CODE, m.cpu.eip());
        }
    }

    @Test
    void saveAndLoadRoundTrip() {
        try (TestMachine m = new TestMachine()) {
            CpuState s = m.cpu.saveState();
            s.fpu[50] = 0x5a;
            s.gpr[3] = 0x1234;
            s.tsc = 99;
            m.cpu.loadState(s);
            CpuState back = m.cpu.saveState();
            assertEquals(s, back);
            s.gpr[3] = 7;
            assertNotEquals(s, m.cpu.saveState(), "state must be copied, not aliased");
            // rdtsc counts from the loaded TSC
            m.program(0x0f, 0x31, 0xcd, 0x1f);
            m.run();
            assertEquals(99, m.cpu.gpr(EAX), "the TSC as loaded, before RDTSC retires");
        }
    }

    @Test
    void cpuidIdentifiesAPlainI686() {
        try (TestMachine m = new TestMachine()) {
            m.program(0x31, 0xc0, 0x0f, 0xa2, 0xcd, 0x1f); // xor eax, eax; cpuid
            m.run();
            assertEquals(0x756e6547, m.cpu.gpr(X86.EBX));
            m.program(0xb8, 1, 0, 0, 0, 0x0f, 0xa2, 0xcd, 0x1f);
            m.run();
            assertEquals(6, (m.cpu.gpr(EAX) >>> 8) & 0xf);
            assertEquals(0, m.cpu.gpr(X86.EDX) & (1 << 3), "no PSE");
            assertEquals(1 | (1 << 4) | (1 << 8) | (1 << 15), m.cpu.gpr(X86.EDX));
        }
    }

    @Test
    void fpuNeedsClearedTaskSwitchedFlag() {
        try (TestMachine m = new TestMachine()) {
            routeToHost(m, X86.NM);
            CpuState s = m.cpu.saveState();
            s.cr0 |= X86.CR0_TS;
            m.cpu.loadState(s);
            m.program(0xdb, 0xe3); // fninit
            assertVectorExit(m.run(), X86.NM, 0);
            s = m.cpu.saveState();
            s.cr0 &= ~X86.CR0_TS;
            m.cpu.loadState(s);
            // fninit; fnstcw [DATA]; int 0x1f
            m.program(0xdb, 0xe3, 0xd9, 0x3d, 0, 0, 2, 0, 0xcd, 0x1f);
            assertVectorExit(m.run(), 0x1f, 0);
            assertEquals(0x037f, m.read32(DATA) & 0xffff);
        }
    }
}
