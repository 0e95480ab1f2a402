package dev.lguest.api.traps;

import dev.lguest.api.guest.Lguest;

/**
 * The part of a guest that trap delivery owns, kept as an explicit value so that a
 * new trap implementation takes over exactly where the old one stopped: the guest's
 * IDT as it loaded it entry by entry (LOAD_IDT_ENTRY), and the kernel stack it gave
 * with SET_STACK (lguest's ss1, esp1 and stack pages).
 *
 * {@code changed} tells the switcher that its copy of the IDT is stale.
 */
public final class TrapState {
    /** Each vector's two descriptor words, as the guest gave them (0,0 = no handler). */
    public final int[] idt = new int[Lguest.IDT_ENTRIES * 2];
    public int ss1;
    public int esp1;
    public int stackPages;
    public volatile boolean changed = true;

    public int low(int vector) {
        return idt[vector * 2];
    }

    public int high(int vector) {
        return idt[vector * 2 + 1];
    }

    public void set(int vector, int low, int high) {
        idt[vector * 2] = low;
        idt[vector * 2 + 1] = high;
        changed = true;
    }
}
