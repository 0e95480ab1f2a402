package dev.lguest.api.segments;

import dev.lguest.api.guest.Lguest;

/**
 * The guest's GDT as the host keeps it: 32 descriptors (low and high words) after
 * lguest's fix-ups, LOAD_GDT and LOAD_TLS write here. The host's own entries (its code
 * and data segments and the TSS) are never taken from the guest; the switcher puts
 * them into its copy. {@code changed} tells the switcher its copy is stale.
 */
public final class SegmentState {
    public final int[] gdt = new int[Lguest.GDT_ENTRIES * 2];
    public volatile boolean changed = true;

    public int low(int entry) {
        return gdt[entry * 2];
    }

    public int high(int entry) {
        return gdt[entry * 2 + 1];
    }

    public void set(int entry, int low, int high) {
        gdt[entry * 2] = low;
        gdt[entry * 2 + 1] = high;
        changed = true;
    }
}
