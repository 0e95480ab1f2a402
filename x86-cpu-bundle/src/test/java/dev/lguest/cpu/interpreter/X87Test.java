// Unit tests for the x87: Float80's rounding in every rounding and precision mode,
// and the #NM/#MF rules (CR0.EM, CR0.TS with and without MP, CR0.NE, FWAIT).
package dev.lguest.cpu.interpreter;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.X86;
import java.math.BigInteger;
import org.junit.jupiter.api.Test;

class X87Test {
    private static Float80.Env env(int rc, int pc) {
        return new Float80.Env(0x3f | 0x40 | (pc << 8) | (rc << 10));
    }

    @Test
    void roundsHalfwayToEvenAndDirected() {
        // 1 + 2^-64 is half an ulp above 1 at 64 bits.
        BigInteger halfway = BigInteger.ONE.shiftLeft(64).add(BigInteger.ONE);
        Float80.Env nearest = env(0, 3);
        assertEquals(Float80.ONE, Float80.roundRegister(nearest, false, halfway, -64));
        assertEquals(Float80.PE, nearest.flags);
        Float80.Env up = env(2, 3);
        assertEquals(new Float80(0x3fff, 0x8000_0000_0000_0001L), Float80.roundRegister(up, false, halfway, -64));
        assertEquals(true, up.roundedUp);
        Float80.Env down = env(1, 3);
        assertEquals(new Float80(0xbfff, 0x8000_0000_0000_0001L), Float80.roundRegister(down, true, halfway, -64));
        Float80.Env zero = env(3, 3);
        assertEquals(new Float80(0xbfff, Float80.INTEGER_BIT), Float80.roundRegister(zero, true, halfway, -64));
    }

    @Test
    void precisionControlCutsTheSignificand() {
        // 1 + 2^-30 rounds to 1 at 24 bits, stays at 53 and 64.
        BigInteger v = BigInteger.ONE.shiftLeft(30).add(BigInteger.ONE);
        assertEquals(Float80.ONE, Float80.roundRegister(env(0, 0), false, v, -30));
        assertEquals(new Float80(0x3fff, Float80.INTEGER_BIT | (1L << 33)), Float80.roundRegister(env(0, 2), false, v, -30));
    }

    @Test
    void overflowAndUnderflowMaskedResponses() {
        Float80.Env e = env(0, 3);
        assertEquals(Float80.infinity(false), Float80.roundRegister(e, false, BigInteger.ONE, 16384));
        assertEquals(Float80.OE | Float80.PE, e.flags);
        Float80.Env z = env(3, 3);
        assertEquals(new Float80(0x7ffe, -1L), Float80.roundRegister(z, false, BigInteger.ONE, 16384));
        // 3 * 2^-16447 is a denormal with a bit lost: UE and PE.
        Float80.Env u = env(0, 3);
        Float80 r = Float80.roundRegister(u, false, BigInteger.valueOf(3), -16447);
        assertEquals(0, r.exponent());
        assertEquals(Float80.UE | Float80.PE, u.flags);
    }

    @Test
    void invalidOperationsGiveTheIndefinite() {
        Float80.Env e = env(0, 3);
        assertEquals(Float80.INDEFINITE, Float80.add(e, Float80.infinity(false), Float80.infinity(true), false));
        assertEquals(Float80.IE, e.flags);
        Float80.Env d = env(0, 3);
        assertEquals(Float80.infinity(true), Float80.divide(d, Float80.ONE.negate(), Float80.POSITIVE_ZERO));
        assertEquals(Float80.ZE, d.flags);
    }

    @Test
    void logarithmOfAPowerOfTwoIsAnExactProduct() {
        // As the AMD this was recorded on answers: 3 * (1 + 2^-63) rounded by RC from the
        // exact product (C1 when up), PE set though the logarithm itself is exact.
        Float80 eight = new Float80(0x4002, Float80.INTEGER_BIT), y = new Float80(0x3fff, 0x8000_0000_0000_0001L);
        long[] want = {0xc000_0000_0000_0002L, 0xc000_0000_0000_0001L, 0xc000_0000_0000_0002L,
                0xc000_0000_0000_0001L};
        for (int rc = 0; rc < 4; rc++) {
            Float80.Env e = env(rc, 3);
            assertEquals(new Float80(0x4000, want[rc]), X87Math.yLog2X(e, eight, y), "rc " + rc);
            assertEquals(Float80.PE, e.flags);
            assertEquals(rc == 0 || rc == 2, e.roundedUp, "C1 for rc " + rc);
        }
        // log2(1/4) * (1 + 2^-63) = -2 - 2^-62, exact in every rounding mode.
        Float80.Env e = env(2, 3);
        assertEquals(new Float80(0xc000, 0x8000_0000_0000_0001L),
                X87Math.yLog2X(e, new Float80(0x3ffd, Float80.INTEGER_BIT), y));
        assertEquals(false, e.roundedUp);
    }

    /** Makes #NM and #MF exits to the test instead of IDT deliveries, and sets CR0 bits. */
    private static void prepare(TestMachine m, int cr0Bits) {
        dev.lguest.api.cpu.CpuState s = m.cpu.saveState();
        s.setHostVector(X86.NM, true);
        s.setHostVector(X86.MF, true);
        s.cr0 |= cr0Bits;
        s.eip = TestMachine.CODE;
        m.cpu.loadState(s);
    }

    @Test
    void noMathCoprocessorFaults() {
        try (TestMachine m = new TestMachine()) {
            // fninit; fld1; fstp st0 -- with CR0.TS set: #NM at the first x87 opcode.
            m.load(TestMachine.CODE, 0xdb, 0xe3, 0xd9, 0xe8, 0x9b, 0xf4);
            prepare(m, X86.CR0_TS);
            CpuExit exit = m.cpu.run(10);
            assertEquals(X86.NM, exit.vector());
            // FWAIT faults on TS only together with MP.
            m.cpu.eip = TestMachine.CODE + 4;
            exit = m.cpu.run(1);
            assertEquals(TestMachine.CODE + 5, m.cpu.eip);
            m.cpu.eip = TestMachine.CODE + 4;
            m.cpu.cr0 |= X86.CR0_MP;
            exit = m.cpu.run(1);
            assertEquals(X86.NM, exit.vector());
            m.cpu.cr0 &= ~(X86.CR0_TS | X86.CR0_MP);
            m.cpu.cr0 |= X86.CR0_EM;
            m.cpu.eip = TestMachine.CODE;
            exit = m.cpu.run(1);
            assertEquals(X86.NM, exit.vector());
        }
    }

    @Test
    void unmaskedExceptionRaisesMathFaultOnTheNextWaitingInstruction() {
        try (TestMachine m = new TestMachine()) {
            // fninit; fldz; fld1; fdivrp? -- unmask ZE with fldcw, then 1/0, then fwait.
            int cw = 0x037b; // ZE unmasked
            m.load(TestMachine.DATA, cw & 0xff, cw >>> 8);
            m.load(TestMachine.CODE, 0xdb, 0xe3, // fninit
                    0xd9, 0x2d, TestMachine.DATA & 0xff, (TestMachine.DATA >>> 8) & 0xff, TestMachine.DATA >>> 16, 0,
                    0xd9, 0xee, // fldz
                    0xd9, 0xe8, // fld1
                    0xde, 0xf1, // fdivrp st1, st0: 1/0
                    0x9b, 0xf4); // fwait; hlt
            prepare(m, X86.CR0_NE);
            CpuExit exit = m.cpu.run(6);
            assertEquals(X86.MF, exit.vector());
            assertEquals(TestMachine.CODE + 14, m.cpu.eip);
            int sw = X87.get16(m.cpu.saveState().fpu, X87.STATUS);
            assertEquals(Float80.ZE | X87.ES, sw & (0x3f | X87.ES));
        }
    }

    @Test
    void theInstructionPointerIsAnOffsetInTheCodeSegment() {
        try (TestMachine m = new TestMachine()) {
            // The ring-1 code segment based at CODE, so offset 0 is linear CODE: the
            // environment's FIP is EIP (an offset within CS, as FCS names the segment),
            // not the linear address and not the offset minus the base.
            m.writeDescriptor(3, TestMachine.CODE, 0xfff, 0xc09b | (1 << 5));
            dev.lguest.api.cpu.CpuState s = m.cpu.saveState();
            s.setSegment(dev.lguest.api.cpu.SegmentRegister.CS, m.segment(TestMachine.KERNEL_CODE));
            s.eip = 0;
            m.cpu.loadState(s);
            m.load(TestMachine.CODE, 0xdb, 0xe3, // fninit
                    0x90, // nop
                    0xd9, 0xe8, // fld1, at offset 3
                    0xd9, 0x35, TestMachine.DATA & 0xff, (TestMachine.DATA >>> 8) & 0xff, TestMachine.DATA >>> 16, 0,
                    0xf4); // fnstenv [DATA]; hlt
            m.cpu.run(4);
            assertEquals(3, m.read32(TestMachine.DATA + 12), "FIP");
            assertEquals(TestMachine.KERNEL_CODE, m.read32(TestMachine.DATA + 16) & 0xffff, "FCS");
            assertEquals(0x1e8, m.read32(TestMachine.DATA + 16) >>> 16, "opcode");
        }
    }
}
