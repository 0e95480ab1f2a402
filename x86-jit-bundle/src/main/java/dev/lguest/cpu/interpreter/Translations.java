// The bounded code cache: which blocks of one CPU hold a compiled translation, and the
// unloading of the translations it drops. Each translation is a hidden class defined
// without the strong option, so the JVM may unload it once nothing refers to its
// instance; the block refers to it, and the block is dropped from the code cache when
// its page is written or remapped. This list holds its blocks weakly, so a dropped block
// and its class can still go.
//
// The cap: when more translations are alive than the cap allows (a guest that keeps
// running new code: module loads, many programs), every translation of the CPU is
// dropped at once (the blocks go back to being interpreted and counted, and the hot
// ones are compiled again), as QEMU flushes its whole translation cache when full.
// Flushing all is simpler than choosing victims and costs only recompiling what is
// still hot. The cap is the system property lguest.jit.maxTranslations.
//
// Unloading: an unreachable hidden class leaves metaspace only when a collection
// unloads classes: with ZGC (the platform's collector) a major collection, never a
// minor one, and G1 likewise needs a full or concurrent cycle. The guest's RAM is off
// the Java heap and a translation's garbage dies young, so the heap alone rarely asks
// for one; the JVM's own trigger, the metadata threshold, raises itself after every
// collection it causes, and under churn (every block compiled, the cache flushed every
// second) metaspace reached 2.7 GB with 375,000 dead classes waiting. So the cache
// counts the translations it lets go (a flush, a dropped block the heap has collected)
// and, every lguest.jit.unloadAfter of them (8,192 by default), asks for a collection
// on another thread (Unloader): metaspace then holds at most about the cap plus that
// many translations plus those made during the collection (benchmarks/jit-metaspace-benchmark).
package dev.lguest.cpu.interpreter;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;

final class Translations {
    static final int DEFAULT_CAP = 8192;
    static final int DEFAULT_UNLOAD_AFTER = 8192;
    /** How many translations are added between two looks for blocks the heap has collected. */
    private static final int SWEEP_EVERY = 1024;

    private final int cap;
    private final int unloadAfter;
    /** Asks the JVM for a collection that unloads classes (Unloader::request outside the tests). */
    private final Runnable unload;
    /** The blocks given a translation since the last flush (weakly: a dropped block may go). */
    private final List<WeakReference<Block>> blocks = new ArrayList<>();
    /** Translations let go (flushed, or their block collected) since the last unloading asked for. */
    private long released;
    /** Translations made, whole flushes, and collections asked for, over the CPU's life. */
    long made, flushes, unloads;

    /** The platform's: lguest.jit.unloadAfter, and collections asked of the JVM. */
    Translations(int cap) {
        this(cap, Integer.getInteger("lguest.jit.unloadAfter", DEFAULT_UNLOAD_AFTER), Unloader::request);
    }

    Translations(int cap, int unloadAfter, Runnable unload) {
        this.cap = Math.max(1, cap);
        this.unloadAfter = Math.max(1, unloadAfter);
        this.unload = unload;
    }

    /** A block just got its translation (the guest's thread, or the background compiler). */
    synchronized void added(Block block) {
        made++;
        blocks.add(new WeakReference<>(block));
        if (made % SWEEP_EVERY == 0) {
            sweep();
        }
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
            sweep();
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
            release(blocks.size());
            blocks.clear();
            flushes++;
        }
    }

    /** Forgets the blocks the heap has collected: their translations are garbage now. */
    private void sweep() {
        int before = blocks.size();
        blocks.removeIf(reference -> reference.get() == null);
        release(before - blocks.size());
    }

    private void release(int translations) {
        released += translations;
        if (released >= unloadAfter) {
            released = 0;
            unloads++;
            unload.run();
        }
    }

    /** Translations alive or not yet collected since the last flush. */
    synchronized int tracked() {
        return blocks.size();
    }
}
