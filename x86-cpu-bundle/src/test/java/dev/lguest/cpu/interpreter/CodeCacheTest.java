// Decoded code must never outlive the bytes it came from: stores by the CPU into a
// block (later in the same block, or in a loop), and writes to RAM from outside the
// CPU between runs, must both be seen by the next execution. And decoded code is tied
// to the address it was decoded at: one physical page run through two mappings (as
// Linux runs its vDSO in every process) must use each mapping's own addresses.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.EAX;
import static dev.lguest.api.cpu.X86.EBX;
import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static dev.lguest.api.cpu.X86.ECX;
import static dev.lguest.api.cpu.X86.ESP;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import org.junit.jupiter.api.Test;

class CodeCacheTest {
    @Test
    void storeIntoTheNextInstructionOfTheSameBlock() {
        try (TestMachine m = new TestMachine()) {
            m.program(concat(
                    new int[] {0xc6, 0x05}, imm32(CODE + 8), new int[] {0x42}, // mov byte [CODE+8], 0x42
                    new int[] {0xb8}, imm32(0), // mov eax, 0 (its immediate is patched above)
                    new int[] {0xcd, 0x1f}));
            CpuExit exit = m.run();
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(0x42, m.cpu.gpr(EAX));
            assertEquals(3, exit.instructions());
        }
    }

    @Test
    void loopPatchingItsOwnCode() {
        try (TestMachine m = new TestMachine()) {
            m.program(concat(
                    new int[] {0x31, 0xdb}, // xor ebx, ebx
                    new int[] {0xb9}, imm32(2), // mov ecx, 2
                    new int[] {0xb8}, imm32(0x11111111), // L (CODE+7): mov eax, imm (at CODE+8)
                    new int[] {0x01, 0xc3}, // add ebx, eax
                    new int[] {0xc7, 0x05}, imm32(CODE + 8), imm32(0x22222222), // mov [CODE+8], imm
                    new int[] {0xe2, 0xed}, // loop L
                    new int[] {0xcd, 0x1f}));
            CpuExit exit = m.run();
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(0x33333333, m.cpu.gpr(EBX));
        }
    }

    @Test
    void groupFiveEndsABlockOnlyAtItsTransfers() {
        // FF holds INC, DEC and PUSH beside the indirect CALL and JMP: a function's
        // "inc dword [counter]" must not cut its block in two, the CALL must end it.
        try (TestMachine m = new TestMachine()) {
            int function = CODE + 0x40;
            m.write32(TestMachine.DATA, 5);
            m.write32(TestMachine.DATA + 4, function);
            m.load(function, 0xbb, 7, 0, 0, 0, 0xcd, 0x1f); // mov ebx, 7 / int 0x1f
            m.program(concat(
                    new int[] {0xff, 0x05}, imm32(TestMachine.DATA), // inc dword [DATA]
                    new int[] {0xff, 0x0d}, imm32(TestMachine.DATA), // dec dword [DATA]
                    new int[] {0xff, 0x35}, imm32(TestMachine.DATA), // push dword [DATA]
                    new int[] {0x58}, // pop eax
                    new int[] {0xff, 0x15}, imm32(TestMachine.DATA + 4), // call [DATA+4]
                    new int[] {0x90})); // nop: after the CALL, another block's
            assertEquals(5, m.cpu.currentBlock().code.length);
            CpuExit exit = m.run();
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(5, m.cpu.gpr(EAX));
            assertEquals(7, m.cpu.gpr(EBX));
            assertEquals(7, exit.instructions());
        }
    }

    @Test
    void codeRewrittenBehindTheCpuBetweenRuns() {
        try (TestMachine m = new TestMachine()) {
            for (int value = 1; value <= 3; value++) {
                m.program(concat(new int[] {0xb8}, imm32(value), new int[] {0xcd, 0x1f}));
                assertEquals(ExitReason.VECTOR, m.run().reason());
                assertEquals(value, m.cpu.gpr(EAX));
            }
        }
    }

    @Test
    void aByteRewrittenInTheLastPartWordOfABlock() {
        // 11 bytes: the re-check compares two words, the second masked to 3 bytes; the
        // byte changed is the first of those.
        try (TestMachine m = new TestMachine()) {
            for (int value = 1; value <= 3; value++) {
                m.program(concat(new int[] {0xb8}, imm32(0x100), // mov eax, 0x100
                        new int[] {0xb3, 0x07}, // mov bl, 7
                        new int[] {0xb1, value}, // mov cl, value (its immediate is byte 8)
                        new int[] {0xcd, 0x1f}));
                assertEquals(ExitReason.VECTOR, m.run().reason());
                assertEquals(value, m.cpu.gpr(ECX) & 0xff);
            }
        }
    }

    @Test
    void codeRewrittenAtTheVeryEndOfRam() {
        // No whole word fits past the block: compared byte by byte.
        try (TestMachine m = new TestMachine()) {
            int end = TestMachine.RAM_SIZE - 4;
            for (int value = 1; value <= 3; value++) {
                m.load(end, 0xb0, value, 0xcd, 0x1f); // mov al, value; int 0x1f
                m.cpu.setEip(end);
                assertEquals(ExitReason.VECTOR, m.run().reason());
                assertEquals(value, m.cpu.gpr(EAX) & 0xff);
            }
        }
    }

    @Test
    void aFrameTheHostNamesIsReadAgainInARunWithOnlyNamedWrites() {
        try (TestMachine m = new TestMachine()) {
            for (int value = 1; value <= 3; value++) {
                m.program(concat(new int[] {0xb8}, imm32(value), new int[] {0xcd, 0x1f}));
                m.cpu.frameWritten(CODE >>> 12);
                assertEquals(ExitReason.VECTOR, m.cpu.run(1_000_000, value > 1).reason());
                assertEquals(value, m.cpu.gpr(EAX));
            }
        }
    }

    @Test
    void aLinkFromAnEarlierRunLeadsOnlyToCodeCheckedInThisOne() {
        // The block at CODE jumps to one on the next page; the link between them is
        // made in the first run and survives it. The second block is rewritten behind
        // the CPU: the next plain run must re-check it, not follow the link into it.
        int next = CODE + 0x1000;
        try (TestMachine m = new TestMachine()) {
            m.load(CODE, concat(new int[] {0xe9}, imm32(next - (CODE + 5)))); // jmp next
            for (int value = 1; value <= 3; value++) {
                m.load(next, concat(new int[] {0xb8}, imm32(value), new int[] {0xcd, 0x1f}));
                m.cpu.setEip(CODE);
                assertEquals(ExitReason.VECTOR, m.run().reason());
                assertEquals(value, m.cpu.gpr(EAX));
            }
        }
    }

    /** Where a 5-byte MOV EAX, imm32 starts three bytes before the next page, which holds its last two. */
    private static final int CROSSING = CODE + 0xffd;

    @Test
    void anInstructionRunningIntoTheNextPageIsNotDecodedAsABlockOnEveryRun() {
        // A loop whose first instruction crosses the page: no block can hold it, and
        // the page remembers so, instead of decoding a block there on every turn.
        try (TestMachine m = new TestMachine()) {
            m.program(concat(
                    new int[] {0x31, 0xdb}, // xor ebx, ebx
                    new int[] {0xb9}, imm32(100), // mov ecx, 100
                    new int[] {0xe9}, imm32(CROSSING - (CODE + 12)))); // jmp CROSSING
            m.load(CROSSING, concat(
                    new int[] {0xb8}, imm32(0x01020304), // L: mov eax, 0x01020304 (across the page)
                    new int[] {0x01, 0xc3}, // add ebx, eax
                    new int[] {0x49}, // dec ecx
                    new int[] {0x75, 0xf6}, // jnz L
                    new int[] {0xcd, 0x1f}));
            CpuExit exit = m.run();
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(100 * 0x01020304, m.cpu.gpr(EBX));
            assertEquals(3 + 4 * 100 + 1, exit.instructions());
            assertTrue(m.cpu.codeCache.blocksDecoded < 10, m.cpu.codeCache.blocksDecoded + " blocks decoded");
            // At least once a turn (a translating CPU's chain may ask before its run loop does).
            assertTrue(m.cpu.codeCache.crossingsTaken >= 99, m.cpu.codeCache.crossingsTaken + " remembered places taken");
        }
    }

    @Test
    void aPlaceThatNoLongerCrossesThePageGetsItsBlock() {
        // Rewritten behind the CPU, then by the CPU itself: each time the instruction at
        // the place fits in the page again, and runs as a block.
        try (TestMachine m = new TestMachine()) {
            m.load(CROSSING, concat(new int[] {0xb8}, imm32(0x11), new int[] {0xcd, 0x1f})); // mov eax, 0x11 (across)
            m.cpu.setEip(CROSSING);
            assertEquals(ExitReason.VECTOR, m.run().reason());
            assertEquals(0x11, m.cpu.gpr(EAX));
            m.cpu.setEip(CROSSING);
            assertNull(m.cpu.currentBlock(), "no block across the page");

            m.load(CROSSING, 0xb0, 0x22, 0xcd, 0x1f); // mov al, 0x22; int 0x1f (this one across)
            m.cpu.setEip(CROSSING);
            assertEquals(ExitReason.VECTOR, m.run().reason());
            assertEquals(0x22, m.cpu.gpr(EAX) & 0xff);
            m.cpu.setEip(CROSSING);
            assertNotNull(m.cpu.currentBlock(), "a block fits at the place");

            m.load(CROSSING, concat(new int[] {0xb8}, imm32(0x33), new int[] {0xcd, 0x1f})); // across again
            m.cpu.setEip(CROSSING);
            assertEquals(ExitReason.VECTOR, m.run().reason());
            assertEquals(0x33, m.cpu.gpr(EAX));
            m.program(concat(
                    new int[] {0xc7, 0x05}, imm32(CROSSING), imm32(0x1fcd44b0), // mov [CROSSING], (mov al, 0x44; int 0x1f)
                    new int[] {0xe9}, imm32(CROSSING - (CODE + 15)))); // jmp CROSSING
            assertEquals(ExitReason.VECTOR, m.run().reason());
            assertEquals(0x44, m.cpu.gpr(EAX) & 0xff);
            m.cpu.setEip(CROSSING);
            assertNotNull(m.cpu.currentBlock(), "a block fits at the place");
        }
    }

    /** A second linear address of the page at CODE. */
    private static final int ALIAS = 0x300000;
    private static final int HANDLER = 0x11000;

    @Test
    void onePhysicalPageRunsWithTheAddressesOfEachMapping() {
        try (TestMachine m = new TestMachine()) {
            m.write32(TestMachine.PAGE_TABLE + (ALIAS >>> 12) * 4, CODE | 7);
            m.load(CODE,
                    0xe8, 0, 0, 0, 0, // call +0: pushes the address of the next instruction
                    0x5b, // pop ebx
                    0xeb, 0x00, // jmp +0
                    0xcd, 0x80, // int 0x80: the handler reads the EIP it pushed
                    0x0f, 0x0b); // ud2: faults to the host at its own address
            m.load(HANDLER, 0x8b, 0x0c, 0x24, 0xcf); // mov ecx, [esp]; iret
            m.setGate(0x80, TestMachine.KERNEL_CODE, HANDLER, 0xe, 3);
            CpuState s = m.cpu.saveState();
            s.setHostVector(X86.UD, true);
            m.cpu.loadState(s);
            for (int base : new int[] {CODE, ALIAS, CODE, ALIAS}) {
                m.cpu.setEip(base);
                m.cpu.setGpr(ESP, TestMachine.KERNEL_STACK);
                CpuExit exit = m.run();
                assertEquals(ExitReason.VECTOR, exit.reason(), "at " + Integer.toHexString(base));
                assertEquals(X86.UD, exit.vector());
                assertEquals(base + 5, m.cpu.gpr(EBX), "CALL's return address");
                assertEquals(base + 10, m.cpu.gpr(ECX), "INT's return address");
                assertEquals(base + 10, m.cpu.eip(), "the fault's EIP");
                assertEquals(6, exit.instructions());
            }
        }
    }

    /**
     * Decoding a block allocates the block and what it keeps (its instructions, their
     * array, its bytes), not a scratch array of MAX_INSTRUCTIONS places as well: a
     * fork, exec and wait decodes thousands of blocks. About 220 bytes a one-instruction
     * block with it; the scratch array alone was 272 more.
     */
    @Test
    void decodingABlockAllocatesOnlyWhatTheBlockKeeps() {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        try (TestMachine m = new TestMachine()) {
            int blocks = 200;
            for (int i = 0; i < blocks; i++) {
                m.load(CODE + 16 * i, 0xc3); // ret: a block of one instruction
            }
            int frame = CODE >>> 12;
            // The first block makes the page's record, once.
            assertNotNull(m.cpu.codeCache.lookup(frame, CODE & 0xfff, CODE, true));
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 1; i < blocks; i++) {
                int eip = CODE + 16 * i;
                assertNotNull(m.cpu.codeCache.lookup(frame, eip & 0xfff, eip, true));
            }
            long each = (threads.getCurrentThreadAllocatedBytes() - before) / (blocks - 1);
            assertTrue(each < 400, each + " bytes allocated per block decoded");
        }
    }
}
