// The bounded code cache: which blocks of one CPU hold a compiled translation. Each
// translation is a hidden class defined without the strong option, so the JVM unloads
// it once nothing refers to its instance; the block refers to it, and the block is
// dropped from the code cache when its page is written or remapped. This list holds
// its blocks weakly, so a dropped block and its class can still go.
//
// The cap: when more translations are alive than the cap allows (a guest that keeps
// running new code: module loads, many programs), every translation of the CPU is
// dropped at once (the blocks go back to being interpreted and counted, and the hot
// ones are compiled again), as QEMU flushes its whole translation cache when full.
// Flushing all is simpler than choosing victims and costs only recompiling what is
// still hot. The cap is the system property lguest.jit.maxTranslations.
package dev.lguest.cpu.interpreter;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;

final class Translations {
    static final int DEFAULT_CAP = 8192;

    private final int cap;
    /** The blocks given a translation since the last flush (weakly: a dropped block may go). */
    private final List<WeakReference<Block>> blocks = new ArrayList<>();
    /** Translations made, and whole flushes, over the CPU's life. */
    long made, flushes;

    Translations(int cap) {
        this.cap = Math.max(1, cap);
    }

    /** A block just got its translation (the guest's thread, or the background compiler). */
    synchronized void added(Block block) {
        made++;
        blocks.add(new WeakReference<>(block));
    }

    /**
     * Called on the guest's thread between blocks: past the cap, the references to
     * dropped blocks are cleared out first, and if the live ones are still too many
     * every translation goes.
     */
    void enforceCap() {
        if (blocks.size() <= cap) {
            return; // read without the lock: a stale size only delays the check
        }
        synchronized (this) {
            blocks.removeIf(reference -> reference.get() == null);
            if (blocks.size() <= cap / 2) {
                return;
            }
            for (WeakReference<Block> reference : blocks) {
                Block block = reference.get();
                if (block != null) {
                    BackgroundCompiler.TRANSLATION.setRelease(block, null);
                    block.runs = 0;
                }
            }
            blocks.clear();
            flushes++;
        }
    }

    /** Translations alive or not yet collected since the last flush. */
    synchronized int tracked() {
        return blocks.size();
    }
}
