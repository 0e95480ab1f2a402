package dev.lguest.api.switcher;

import dev.lguest.api.guest.Guest;

/**
 * The switcher: what sets a guest's CPU up as lguest's switcher sets up a real one
 * (its GDT, IDT and TSS, the shadow page tables in CR3, which vectors come back to the
 * host), and the loop that runs the guest and handles every exit until the Launcher
 * is needed.
 */
public interface Switcher {
    /**
     * What {@link #run} returns when this switcher is being replaced: the guest stopped
     * at an instruction boundary with nothing lost, and the caller should run it again
     * with the switcher bound now.
     */
    long HANDED_OVER = Long.MIN_VALUE;

    /** Gives a new guest a CPU and its first registers (LHREQ_INITIALIZE). */
    void initialize(Guest guest, int pgdir, int start);

    /**
     * Runs the guest until the Launcher is needed. Returns the NOTIFY address (>= 0 as
     * an unsigned word, so any int but the error values below), or a negative errno:
     * -ENOENT when the guest died (its reason is then in the guest), -EAGAIN when it
     * was broken out, -EINTR when the calling thread was interrupted; or
     * {@link #HANDED_OVER}.
     */
    long run(Guest guest);

    /** Frees what the guest held in the host (shadow pages, its CPU). */
    void release(Guest guest);
}
