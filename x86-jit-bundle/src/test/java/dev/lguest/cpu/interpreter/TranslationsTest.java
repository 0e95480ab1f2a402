// The code cache's bound and its unloading policy (Translations): past the cap every
// translation is dropped and its block counts runs again; dropped translations, flushed
// or whose block the heap collected, ask for a collection that unloads them once they
// reach the lguest.jit.unloadAfter budget, and not before; and a dropped translation's
// hidden class really is unloaded by such a collection (nothing else keeps it: not the
// translator's Lookup, not a method handle, not the block's decoded code).
package dev.lguest.cpu.interpreter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.ExitReason;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class TranslationsTest {
    private final AtomicInteger unloadsAsked = new AtomicInteger();

    private static Block block(int eip) {
        Instruction instruction = new Instruction();
        instruction.start = eip;
        instruction.next = eip + 1;
        return new Block(0, eip & 0xfff, true, new Instruction[] {instruction}, new byte[] {(byte) 0x90}, 0);
    }

    /** A block holding a (stand-in) translation, recorded as compiled. */
    private static Block compiled(Translations translations, int eip) {
        Block block = block(eip);
        block.translation = new CompiledBlock.Marker("stand-in");
        block.runs = 5;
        translations.added(block);
        return block;
    }

    @Test
    void pastTheCapEveryTranslationIsDroppedAndTheBlocksCountAgain() {
        Translations translations = new Translations(4, 1000, unloadsAsked::incrementAndGet);
        List<Block> blocks = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            blocks.add(compiled(translations, 0x1000 + i));
        }
        translations.enforceCap();
        assertEquals(0, translations.flushes, "at the cap nothing is dropped");
        blocks.add(compiled(translations, 0x2000));
        translations.enforceCap();
        assertEquals(1, translations.flushes);
        assertEquals(0, translations.tracked());
        for (Block block : blocks) {
            assertNull(block.translation);
            assertEquals(0, block.runs);
        }
        assertEquals(0, unloadsAsked.get(), "5 dropped is below the budget of 1000");
        assertEquals(5, translations.made);
    }

    @Test
    void flushedTranslationsAskForAnUnloadingOnceTheyReachTheBudget() {
        Translations translations = new Translations(10, 25, unloadsAsked::incrementAndGet);
        List<Block> alive = new ArrayList<>();
        for (int flush = 1; flush <= 6; flush++) {
            for (int i = 0; i < 11; i++) {
                alive.add(compiled(translations, flush * 0x1000 + i));
            }
            translations.enforceCap();
            assertEquals(flush, translations.flushes);
            // 11 released a flush: the budget of 25 is reached at the third (33, counted
            // from 0 again) and the sixth.
            assertEquals(flush >= 6 ? 2 : flush >= 3 ? 1 : 0, unloadsAsked.get(), "after flush " + flush);
        }
        assertEquals(2, translations.unloads);
    }

    @Test
    void blocksTheHeapCollectedCountAsReleasedToo() throws InterruptedException {
        Translations translations = new Translations(100_000, 500, unloadsAsked::incrementAndGet);
        // 1024 translations whose blocks nobody keeps: once collected, the next sweep
        // (every 1024 added) finds them gone and the budget of 500 is passed.
        for (int i = 0; i < 1024; i++) {
            compiled(translations, i);
        }
        for (int attempt = 0; attempt < 50 && unloadsAsked.get() == 0; attempt++) {
            System.gc();
            Thread.sleep(20);
            List<Block> held = new ArrayList<>();
            for (int i = 0; i < 1024; i++) {
                held.add(compiled(translations, 0x10000 + i));
            }
            assertEquals(1024, held.size());
        }
        assertEquals(1, unloadsAsked.get(), "dropped blocks the heap collected ask for one unloading");
        assertEquals(0, translations.flushes, "far below the cap: no flush");
    }

    @Test
    void aDroppedTranslationsClassIsUnloadedByACollection() throws InterruptedException {
        WeakReference<Class<?>> translationClass = compileTheLoopAndDropItsFirstTranslation();
        for (int attempt = 0; attempt < 100 && translationClass.get() != null; attempt++) {
            System.gc();
            Thread.sleep(10);
        }
        assertNull(translationClass.get(), "the hidden class was unloaded");
    }

    /** In a method of its own, so that no local of the test's frame still holds the translation. */
    private static WeakReference<Class<?>> compileTheLoopAndDropItsFirstTranslation() {
        try (TestMachine m = new TestMachine()) {
            TranslatingCpu cpu = new TranslatingCpu(m.bus, 0, true);
            cpu.loadState(m.cpu.saveState());
            m.load(TestMachine.CODE, TranslatorTest.LOOP);
            cpu.setEip(TestMachine.CODE);
            assertEquals(ExitReason.VECTOR, cpu.run(1_000_000).reason());
            Block first = cpu.codeCache.lookup(TestMachine.CODE >>> 12, TestMachine.CODE & 0xfff, TestMachine.CODE, true);
            Object translation = first.translation;
            assertTrue(translation instanceof CompiledBlock, "the loop's first block was compiled");
            assertTrue(translation.getClass().isHidden());
            // What a flush does: the block keeps its decoded code and loses its translation.
            first.translation = null;
            return new WeakReference<>(translation.getClass());
        }
    }
}
