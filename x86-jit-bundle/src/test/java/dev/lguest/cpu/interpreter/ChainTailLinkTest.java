// The run loop links the block a chain of compiled blocks ended with, not the one it
// started with. TranslatingCpu.runBlock runs compiled blocks one after another and
// stops at the first one not compiled yet; the run loop used to take the block it had
// handed over for the one just run, missed its links at the next EIP (they lead from
// the chain's first block, elsewhere), searched the code cache, and then overwrote the
// first block's second link with that answer. Here a compiled loop body ends the loop
// into a block running for the first time (interpreted), which jumps on: afterwards
// the loop body must still hold its link to the exit block, and the exit block the
// link to its own successor.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.HOST_EXIT;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import org.junit.jupiter.api.Test;

class ChainTailLinkTest {
    private static final int LOOP = CODE + 0x10, BACK = CODE + 0x20, EXIT = CODE + 0x30, END = CODE + 0x40;

    @Test
    void theRunLoopLinksTheChainsLastBlock() {
        try (TestMachine m = new TestMachine()) {
            m.load(CODE, concat(
                new int[] {0xb9, 0x02, 0x00, 0x00, 0x00}, // mov ecx, 2
                new int[] {0xe9}, TestMachine.imm32(LOOP - (CODE + 10)))); // jmp LOOP
            m.load(LOOP, concat(
                new int[] {0x49}, // dec ecx
                new int[] {0x74, EXIT - (LOOP + 3)}, // jz EXIT
                new int[] {0xe9}, TestMachine.imm32(BACK - (LOOP + 8)))); // jmp BACK
            m.load(BACK, 0xe9, (LOOP - (BACK + 5)) & 0xff, 0xff, 0xff, 0xff); // jmp LOOP
            m.load(EXIT, 0x90, 0xe9, END - (EXIT + 6), 0, 0, 0); // nop; jmp END
            m.load(END, 0xcd, HOST_EXIT);
            // A block is compiled at its second run: LOOP's second pass is compiled,
            // and EXIT, reached from it, runs for the first time, interpreted.
            TranslatingCpu cpu = new TranslatingCpu(m.bus, 1, true, false, 1000);
            CpuState s = m.cpu.saveState();
            s.setHostVector(HOST_EXIT, true);
            s.eip = CODE;
            cpu.loadState(s);
            CpuExit exit = cpu.run(1000);
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(HOST_EXIT, exit.vector());
            assertEquals(0, cpu.translationFailures);

            Block loop = blockAt(cpu, LOOP), exitBlock = blockAt(cpu, EXIT), end = blockAt(cpu, END);
            assertNotNull(loop.translation, "the loop body was not compiled");
            assertSame(exitBlock, loop.linkedAt(EXIT), "the loop body lost its link to the exit block");
            assertNull(loop.linkedAt(END), "the loop body was linked to a block that never follows it");
            assertSame(end, exitBlock.linkedAt(END), "the exit block was not linked to its successor");
        }
    }

    /** The code cache's block at an EIP of the identity-mapped test machine. */
    private static Block blockAt(TranslatingCpu cpu, int eip) {
        Block block = cpu.codeCache.lookup(eip >>> 12, eip & 0xfff, eip, true);
        assertNotNull(block);
        return block;
    }
}
