/*
 * The shadow page tables of one guest: up to four shadow directories, the one the
 * guest is running on, and every host page they use.
 *
 * A guest switches page directories on nearly every context switch, and rebuilding
 * the shadow from nothing each time would fault every page back in. So, like lguest,
 * we keep the shadows of the last few guest directories and pick one up again when
 * the guest returns to it.
 *
 * This object lives in the guest (PagingState.cache), not in the component, so a
 * replacement component can find it. It is AutoCloseable so that whoever finds it
 * there, even code from another revision of this bundle that cannot see this class,
 * can hand its host pages back to the pool without knowing how they are kept.
 */
package dev.lguest.pagetable;

import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.mmu.PageEntries;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;

final class ShadowCache implements AutoCloseable {
    /** How many guest directories we shadow at once (lguest's ARRAY_SIZE(pgdirs)). */
    static final int DIRECTORIES = 4;

    private final PhysicalMemory bus;
    private final ShadowDirectory[] directories = new ShadowDirectory[DIRECTORIES];
    private ShadowDirectory current;
    /** Round-robin eviction: as fair as lguest's random pick, and reproducible. */
    private int nextVictim;

    ShadowCache(PhysicalMemory bus) {
        this.bus = bus;
    }

    ShadowDirectory current() {
        return current;
    }

    void makeCurrent(ShadowDirectory directory) {
        current = directory;
    }

    ShadowDirectory find(int guestPgdir) {
        for (ShadowDirectory directory : directories) {
            if (directory != null && directory.guestPgdir == guestPgdir) {
                return directory;
            }
        }
        return null;
    }

    /** Every directory we hold, for kernel mappings that must change in all of them. */
    Iterable<ShadowDirectory> all() {
        List<ShadowDirectory> held = new ArrayList<>(DIRECTORIES);
        for (ShadowDirectory directory : directories) {
            if (directory != null) {
                held.add(directory);
            }
        }
        return held;
    }

    /** False once all four slots are taken and one must be evicted. */
    boolean hasFreeSlot() {
        for (ShadowDirectory directory : directories) {
            if (directory == null) {
                return true;
            }
        }
        return false;
    }

    /**
     * Allocates a blank shadow directory for a guest directory in a free slot.
     * Throws IllegalStateException if the host is out of pages.
     */
    ShadowDirectory allocate(int guestPgdir) {
        for (int slot = 0; slot < DIRECTORIES; slot++) {
            if (directories[slot] == null) {
                int frame = bus.allocateHostPage();
                ShadowDirectory directory = new ShadowDirectory(frame, bus.page(frame), guestPgdir);
                directories[slot] = directory;
                return directory;
            }
        }
        throw new IllegalStateException("no free shadow directory slot");
    }

    /** The directory to take over when all slots are in use. */
    ShadowDirectory victim() {
        ShadowDirectory victim = directories[nextVictim];
        nextVictim = (nextVictim + 1) % DIRECTORIES;
        return victim;
    }

    /** Allocates a zeroed pte page and hooks it under a directory slot. */
    void attachPtePage(ShadowDirectory directory, int index, int directoryFlags) {
        int frame = bus.allocateHostPage();
        directory.attachPtePage(index, frame, bus.page(frame), directoryFlags);
    }

    /** Drops one pte page (and so every mapping in that 4 MiB) and frees it. */
    void releasePtePage(ShadowDirectory directory, int index) {
        int frame = directory.detachPtePage(index);
        if (frame != 0) {
            bus.freeHostPage(frame);
        }
    }

    /** Drops the pte pages of every slot the predicate picks. */
    void releasePtePages(ShadowDirectory directory, IntPredicate which) {
        for (int index = 0; index < PageEntries.PER_PAGE; index++) {
            if (directory.hasPtePage(index) && which.test(index)) {
                releasePtePage(directory, index);
            }
        }
    }

    /**
     * Frees every host page this cache holds. Safe to call more than once: each page
     * leaves our records as it is freed.
     */
    @Override
    public void close() {
        for (int slot = 0; slot < DIRECTORIES; slot++) {
            ShadowDirectory directory = directories[slot];
            if (directory == null) {
                continue;
            }
            releasePtePages(directory, index -> true);
            directories[slot] = null;
            bus.freeHostPage(directory.frame);
        }
        current = null;
    }
}
