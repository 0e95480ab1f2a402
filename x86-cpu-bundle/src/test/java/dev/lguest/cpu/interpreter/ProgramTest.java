// Whole small programs: a checksum loop over memory, string instructions, the stack
// frame instructions, segment loads and far transfers, and a rough speed measurement.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.EAX;
import static dev.lguest.api.cpu.X86.ECX;
import static dev.lguest.api.cpu.X86.EDI;
import static dev.lguest.api.cpu.X86.ESI;
import static dev.lguest.api.cpu.X86.ESP;
import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_STACK;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import org.junit.jupiter.api.Test;

class ProgramTest {
    @Test
    void checksumLoopOverMemory() {
        try (TestMachine m = new TestMachine()) {
            int expected = 0;
            for (int i = 0; i < 4096; i++) {
                int b = (i * 31 + 7) & 0xff;
                m.load(DATA + i, b);
                expected += b;
            }
            m.program(concat(
                    new int[] {0xbe}, imm32(DATA), // mov esi, DATA
                    new int[] {0xb9}, imm32(4096), // mov ecx, 4096
                    new int[] {0x31, 0xc0}, // xor eax, eax
                    new int[] {0x0f, 0xb6, 0x16}, // L: movzx edx, byte [esi]
                    new int[] {0x01, 0xd0}, // add eax, edx
                    new int[] {0x46}, // inc esi
                    new int[] {0xe2, 0xf8}, // loop L
                    new int[] {0xcd, 0x1f}));
            CpuExit exit = m.run();
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(expected, m.cpu.gpr(EAX));
            assertEquals(3 + 4 * 4096 + 1, exit.instructions());
        }
    }

    /**
     * A loop body with an early branch inside: blocks run on through untaken Jcc and
     * are left where one is taken. The same program is run again under a budget of 7,
     * which stops blocks at every place, to check that counts and EIP stay exact.
     */
    @Test
    void conditionalBranchesInsideBlocks() {
        int[] program = concat(
                new int[] {0x31, 0xc0}, // xor eax, eax
                new int[] {0x31, 0xdb}, // xor ebx, ebx
                new int[] {0xb9}, imm32(10), // mov ecx, 10
                new int[] {0x40}, // L: inc eax
                new int[] {0x83, 0xf8, 0x03}, // cmp eax, 3
                new int[] {0x75, 0x06}, // jne skip
                new int[] {0x81, 0xc3}, imm32(100), // add ebx, 100
                new int[] {0x83, 0xc3, 0x01}, // skip: add ebx, 1
                new int[] {0x49}, // dec ecx
                new int[] {0x75, 0xee}, // jnz L
                new int[] {0xcd, 0x1f});
        for (long budget : new long[] {Long.MAX_VALUE, 7}) {
            try (TestMachine m = new TestMachine()) {
                m.program(program);
                long retired = 0;
                CpuExit exit;
                do {
                    exit = m.cpu.run(budget);
                    retired += exit.instructions();
                } while (exit.reason() == ExitReason.BUDGET);
                assertEquals(ExitReason.VECTOR, exit.reason());
                assertEquals(10, m.cpu.gpr(EAX));
                assertEquals(110, m.cpu.gpr(X86.EBX));
                assertEquals(0, m.cpu.gpr(ECX));
                assertEquals(3 + 6 * 10 + 1 + 1, retired, "budget " + budget);
            }
        }
    }

    @Test
    void repeatedStringInstructions() {
        try (TestMachine m = new TestMachine()) {
            for (int i = 0; i < 100; i++) {
                m.load(DATA + i, i + 1);
            }
            m.program(concat(
                    new int[] {0xfc}, // cld
                    new int[] {0xbe}, imm32(DATA), new int[] {0xbf}, imm32(DATA + 0x800),
                    new int[] {0xb9}, imm32(25), new int[] {0xf3, 0xa5}, // rep movsd
                    new int[] {0xbe}, imm32(DATA), new int[] {0xbf}, imm32(DATA + 0x800),
                    new int[] {0xb9}, imm32(100), new int[] {0xf3, 0xa6}, // repe cmpsb
                    new int[] {0xcd, 0x1f}));
            m.run();
            assertEquals(0, m.cpu.gpr(ECX), "all equal");
            assertEquals(DATA + 100, m.cpu.gpr(ESI));
            assertEquals(DATA + 0x800 + 100, m.cpu.gpr(EDI));
            assertEquals(100, m.ram.get(LinearMemory.BYTE, DATA + 0x800 + 99));
        }
    }

    @Test
    void repeatFaultKeepsProgress() {
        try (TestMachine m = new TestMachine()) {
            CpuState s = m.cpu.saveState();
            s.setHostVector(X86.PF_VECTOR, true);
            m.cpu.loadState(s);
            int target = 0x3ff000; // last mapped page: the store runs off the end of 4 MiB
            m.program(concat(new int[] {0xfc, 0xbf}, imm32(target + 0xff0), new int[] {0xb9}, imm32(16),
                    new int[] {0x31, 0xc0, 0xf3, 0xab, 0xcd, 0x1f})); // rep stosd
            CpuExit exit = m.run();
            assertEquals(X86.PF_VECTOR, exit.vector());
            assertEquals(12, m.cpu.gpr(ECX), "four dwords stored before the fault");
            assertEquals(0x400000, m.cpu.saveState().cr2);
            assertEquals(CODE + 13, m.cpu.eip());
        }
    }

    @Test
    void stackFrames() {
        try (TestMachine m = new TestMachine()) {
            // pushad; enter 16, 0; leave; popad; push 5; pop ebx; call f; int 0x1f; f: mov eax, 9; ret
            m.program(0x60, 0xc8, 16, 0, 0, 0xc9, 0x61, 0x6a, 5, 0x5b, 0xe8, 2, 0, 0, 0, 0xcd, 0x1f,
                    0xb8, 9, 0, 0, 0, 0xc3);
            m.run();
            assertEquals(KERNEL_STACK, m.cpu.gpr(ESP));
            assertEquals(5, m.cpu.gpr(X86.EBX));
            assertEquals(9, m.cpu.gpr(EAX));
        }
    }

    @Test
    void segmentLoadsAndFarTransfers() {
        try (TestMachine m = new TestMachine()) {
            CpuState s = m.cpu.saveState();
            s.setHostVector(X86.GP, true);
            m.cpu.loadState(s);
            int target = CODE + 0x80;
            // mov ax, USER_DATA; mov fs, ax; jmp far KERNEL_CODE:target
            m.program(0x66, 0xb8, TestMachine.USER_DATA, 0, 0x8e, 0xe0, 0xea, target & 0xff, (target >>> 8) & 0xff,
                    target >>> 16, 0, TestMachine.KERNEL_CODE, 0);
            // mov ax, KERNEL_DATA0 (DPL 0); mov ds, ax  -> #GP(sel) at CPL 1
            m.load(target, 0x66, 0xb8, TestMachine.KERNEL_DATA0, 0, 0x8e, 0xd8);
            CpuExit exit = m.run();
            assertEquals(X86.GP, exit.vector());
            assertEquals(TestMachine.KERNEL_DATA0, exit.errorCode());
            assertEquals(target + 4, m.cpu.eip());
            assertEquals(TestMachine.USER_DATA, m.cpu.saveState().segment(SegmentRegister.FS).selector());
        }
    }

    @Test
    void ioBitmapGrantsPorts() {
        try (TestMachine m = new TestMachine()) {
            // A TSS whose limit covers a short bitmap at 104 allowing port 0x60 only.
            m.writeDescriptor(7, TestMachine.TSS, 0x67 + 0x20, 0x008b);
            m.write16(TestMachine.TSS + 102, 104);
            for (int i = 0; i < 0x20; i++) {
                m.load(TestMachine.TSS + 104 + i, 0xff);
            }
            m.load(TestMachine.TSS + 104 + (0x60 >>> 3), 0xfe);
            CpuState s = m.cpu.saveState();
            s.tr = m.segment(TestMachine.TSS_SELECTOR);
            s.setHostVector(X86.GP, true);
            m.cpu.loadState(s);
            m.program(0xe4, 0x60, 0xcd, 0x1f, 0xe4, 0x61);
            assertEquals(0x1f, m.run().vector());
            assertEquals(0xff, m.cpu.gpr(EAX) & 0xff);
            assertEquals(X86.GP, m.run().vector());
        }
    }

    @Test
    void measureSpeed() {
        try (TestMachine m = new TestMachine()) {
            // L: add eax, 1; dec ecx; jnz L; int 0x1f
            int iterations = 20_000_000;
            m.program(concat(new int[] {0xb9}, imm32(iterations), new int[] {0x83, 0xc0, 0x01, 0x49, 0x75, 0xfa},
                    new int[] {0xcd, 0x1f}));
            long start = System.nanoTime();
            CpuExit exit = m.cpu.run(Long.MAX_VALUE);
            long nanos = System.nanoTime() - start;
            assertEquals(iterations, m.cpu.gpr(EAX));
            double mips = exit.instructions() * 1000.0 / nanos;
            System.out.printf("interpreter speed: %.1f million instructions per second%n", mips);
            assertTrue(mips > 0);
        }
    }
}
