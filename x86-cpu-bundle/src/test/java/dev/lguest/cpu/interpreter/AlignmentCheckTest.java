// The alignment check: at CPL 3, with CR0.AM (which Linux sets) and EFLAGS.AC (which a
// program sets with POPF), a misaligned data access raises #AC(0), which Linux turns
// into SIGBUS. Nowhere else is alignment checked.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.EAX;
import static dev.lguest.api.cpu.X86.ESP;
import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.USER_STACK;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import org.junit.jupiter.api.Test;

class AlignmentCheckTest {
    /** pushfd; or dword [esp], AC; popfd */
    private static final int[] SET_AC = {0x9c, 0x81, 0x0c, 0x24, 0x00, 0x00, 0x04, 0x00, 0x9d};
    private static final int[] EXIT = {0xcd, TestMachine.HOST_EXIT};

    private static TestMachine machine(boolean alignmentMask, boolean user) {
        TestMachine m = new TestMachine();
        CpuState s = m.cpu.saveState();
        s.setHostVector(X86.AC_VECTOR, true);
        if (alignmentMask) {
            s.cr0 |= X86.CR0_AM;
        }
        m.cpu.loadState(s);
        if (user) {
            m.enterUserMode(CODE, USER_STACK);
        }
        m.write32(DATA, 0x44332211);
        m.write32(DATA + 4, 0x88776655);
        return m;
    }

    private static int[] load(int address) {
        return concat(new int[] {0xa1}, imm32(address)); // mov eax, [address]
    }

    private static void assertExit(CpuExit exit, int vector, int eip, TestMachine m) {
        assertEquals(ExitReason.VECTOR, exit.reason(), exit::toString);
        assertEquals(vector, exit.vector(), exit::toString);
        assertEquals(eip, m.cpu.eip());
    }

    @Test
    void aMisalignedLoadInAProcessThatSetAcFaults() {
        try (TestMachine m = machine(true, true)) {
            int load = CODE + SET_AC.length;
            m.load(CODE, concat(SET_AC, load(DATA + 4), load(DATA + 1), EXIT));
            m.cpu.setEip(CODE);
            CpuExit exit = m.run();
            assertExit(exit, X86.AC_VECTOR, load + 5, m);
            assertEquals(0, exit.errorCode());
            assertEquals(0x88776655, m.cpu.gpr(EAX), "the aligned load before it ran");
        }
    }

    @Test
    void aMisalignedPushFaultsToo() {
        try (TestMachine m = machine(true, true)) {
            m.load(CODE, concat(SET_AC, new int[] {0x83, 0xec, 0x02, 0x50}, EXIT)); // sub esp, 2; push eax
            m.cpu.setEip(CODE);
            assertExit(m.run(), X86.AC_VECTOR, CODE + SET_AC.length + 3, m);
            assertEquals(USER_STACK - 2, m.cpu.gpr(ESP));
        }
    }

    @Test
    void withoutAcOrAmOrOutsideRing3NothingIsChecked() {
        int[] program = concat(load(DATA + 1), EXIT);
        int[] withAc = concat(SET_AC, load(DATA + 1), EXIT);
        Object[][] cases = {
            {machine(true, true), program},     // AC clear
            {machine(false, true), withAc},     // CR0.AM clear
            {machine(true, false), withAc},     // the kernel at CPL 1
        };
        for (Object[] c : cases) {
            try (TestMachine m = (TestMachine) c[0]) {
                int[] code = (int[]) c[1];
                m.load(CODE, code);
                m.cpu.setEip(CODE);
                assertExit(m.run(), TestMachine.HOST_EXIT, CODE + code.length, m);
                assertEquals(0x55443322, m.cpu.gpr(EAX));
            }
        }
    }

    @Test
    void clearingAcEndsTheCheck() {
        try (TestMachine m = machine(true, true)) {
            // set AC, then pushfd; and dword [esp], ~AC; popfd; misaligned load
            int[] clear = {0x9c, 0x81, 0x24, 0x24, 0xff, 0xff, 0xfb, 0xff, 0x9d};
            int[] code = concat(SET_AC, clear, load(DATA + 1), EXIT);
            m.load(CODE, code);
            m.cpu.setEip(CODE);
            assertExit(m.run(), TestMachine.HOST_EXIT, CODE + code.length, m);
            assertEquals(0x55443322, m.cpu.gpr(EAX));
        }
    }

    @Test
    void quadwordAndExtendedOperandsNeedEightByteAlignment() {
        // fld qword, fild qword, fld tword, cmpxchg8b: four-aligned is not enough.
        int[][] opcodes = {{0xdd, 0x05}, {0xdf, 0x2d}, {0xdb, 0x2d}, {0x0f, 0xc7, 0x0d}};
        for (int[] opcode : opcodes) {
            for (int address : new int[] {DATA + 4, DATA + 8}) {
                try (TestMachine m = machine(true, true)) {
                    int[] code = concat(SET_AC, opcode, imm32(address), EXIT);
                    m.load(CODE, code);
                    m.cpu.setEip(CODE);
                    String what = Integer.toHexString(opcode[0]) + " at " + Integer.toHexString(address);
                    CpuExit exit = m.run();
                    if (address == DATA + 4) {
                        assertExit(exit, X86.AC_VECTOR, CODE + SET_AC.length, m);
                        assertEquals(0, exit.errorCode(), what);
                    } else {
                        assertExit(exit, TestMachine.HOST_EXIT, CODE + code.length, m);
                    }
                }
            }
        }
    }
}
