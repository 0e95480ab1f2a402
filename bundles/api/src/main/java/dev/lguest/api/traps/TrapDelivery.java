package dev.lguest.api.traps;

import dev.lguest.api.guest.Guest;

/**
 * Trap and interrupt delivery: the service that puts a trap or an interrupt into the
 * guest as its own CPU would have, and that checks and records the guest's IDT.
 *
 * All methods run on the guest's thread; a guest that breaks the rules is killed
 * through {@link Guest#kill(String)}; nothing is thrown.
 */
public interface TrapDelivery {
    /**
     * Delivers a trap to the guest's handler for {@code vector}: pushes the frame on the
     * guest's kernel stack (switching stacks first if it came from ring 3) and points
     * the CPU at the handler. Returns false if the guest has no handler for it.
     */
    boolean deliverTrap(Guest guest, int vector, boolean hasErrorCode, int errorCode);

    /** If an interrupt is pending and the guest can take it now, delivers it. */
    void maybeDeliverInterrupt(Guest guest);

    /** LOAD_IDT_ENTRY, with lguest's checks. */
    void loadIdtEntry(Guest guest, int vector, int low, int high);

    /** SET_STACK, with lguest's checks. */
    void setStack(Guest guest, int segment, int esp, int pages);

    /** SET_CLOCKEVENT: IRQ 0 in {@code nanos} nanoseconds; 0 stops the clock. */
    void setClockEvent(Guest guest, long nanos);

    /**
     * True if the vector is one the guest handles directly, without the host: the
     * switcher programs these into the CPU's IDT (the system call vector).
     */
    boolean isDirectTrap(Guest guest, int vector);

    /** Checks lguest_data.syscall_vec at LGUEST_INIT; false means the guest must die. */
    boolean checkSyscallVector(Guest guest);
}
