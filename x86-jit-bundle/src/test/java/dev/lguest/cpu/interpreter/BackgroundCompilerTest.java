// The background compiler spends its time on blocks that can still run. A block whose
// guest has ended (its RAM's arena closed) is skipped, not translated: short-lived
// machines once queued blocks faster than a loaded machine translated them, and a live
// guest's hot block waited behind that backlog for over a minute. And when the bundle
// stops, the compiler queues nothing more and its thread ends, so no thread is left to
// load classes from a revision the framework has thrown away.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.HOST_EXIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import org.junit.jupiter.api.Test;

class BackgroundCompilerTest {
    private static final int LOOP = CODE + 5;
    /** Long enough for a worker on the most loaded machine; the tests end as soon as it is done. */
    private static final long PATIENCE_NANOS = 60_000_000_000L;

    @Test
    void aBlockOfAGuestThatHasEndedIsSkippedAndTheLiveOneBehindItIsCompiled() throws InterruptedException {
        TestMachine ended = new TestMachine();
        TranslatingCpu endedCpu = interpretingCpu(ended);
        Block deadBlock = loopBlockAfterOneRun(ended, endedCpu);
        ended.close();
        try (TestMachine live = new TestMachine()) {
            TranslatingCpu liveCpu = interpretingCpu(live);
            Block liveBlock = loopBlockAfterOneRun(live, liveCpu);
            assertTrue(BackgroundCompiler.submit(deadBlock, endedCpu.translations, endedCpu.memory));
            assertTrue(BackgroundCompiler.submit(liveBlock, liveCpu.translations, liveCpu.memory));
            // One thread takes the queue in order: when the live block is done, so is the dead one.
            awaitDone(liveBlock);
            assertNotSame(TranslatingCpu.NOT_COMPILED, liveBlock.translation, "the live block failed to compile");
            assertEquals(1, liveCpu.translations.made);
            assertNull(deadBlock.translation, "the ended guest's block was translated");
            assertEquals(0, endedCpu.translations.made);
        }
    }

    @Test
    void aStoppedCompilerQueuesNothingAndLeavesNoThreadBehind() throws InterruptedException {
        try (TestMachine m = new TestMachine()) {
            TranslatingCpu cpu = interpretingCpu(m);
            Block block = loopBlockAfterOneRun(m, cpu);
            BackgroundCompiler.stop();
            try {
                assertFalse(BackgroundCompiler.submit(block, cpu.translations, cpu.memory));
                assertNull(block.translation, "a refused block counts its runs again");
                long deadline = System.nanoTime() + PATIENCE_NANOS;
                while (compilerThreadAlive() && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertFalse(compilerThreadAlive(), "the compiler's thread outlived stop()");
            } finally {
                BackgroundCompiler.start();
            }
            assertTrue(BackgroundCompiler.submit(block, cpu.translations, cpu.memory), "refused after start()");
            awaitDone(block);
            assertEquals(1, cpu.translations.made);
        }
    }

    /** A translating CPU that never compiles on its own (its threshold is never reached here). */
    private static TranslatingCpu interpretingCpu(TestMachine m) {
        return new TranslatingCpu(m.bus, Integer.MAX_VALUE, true, false, 1000);
    }

    /** Runs mov ecx, 3; L: dec ecx; jnz L; int HOST_EXIT and returns the decoded block at L. */
    private static Block loopBlockAfterOneRun(TestMachine m, TranslatingCpu cpu) {
        m.load(CODE, 0xb9, 0x03, 0x00, 0x00, 0x00, // mov ecx, 3
                0x49, // L: dec ecx
                0x75, 0xfd, // jnz L
                0xcd, HOST_EXIT);
        CpuState s = m.cpu.saveState();
        s.setHostVector(HOST_EXIT, true);
        s.eip = CODE;
        cpu.loadState(s);
        assertEquals(ExitReason.VECTOR, cpu.run(1000).reason());
        Block block = cpu.codeCache.lookup(LOOP >>> 12, LOOP & 0xfff, LOOP, true);
        assertNotNull(block);
        assertNull(block.translation);
        return block;
    }

    private static void awaitDone(Block block) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE_NANOS;
        while (block.translation == BackgroundCompiler.QUEUED && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertNotNull(block.translation, "the queued block was dropped");
        assertNotSame(BackgroundCompiler.QUEUED, block.translation, "the background thread never compiled the block");
    }

    private static boolean compilerThreadAlive() {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.isAlive() && t.getName().equals("lguest-jit-compiler"));
    }
}
