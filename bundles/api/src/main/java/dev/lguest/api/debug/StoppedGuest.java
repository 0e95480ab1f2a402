package dev.lguest.api.debug;

import dev.lguest.api.cpu.CpuState;

/**
 * A guest stopped for the debugger, as the switcher hands it over: its CPU's state to
 * read and change, and its own page tables to translate through. Safe to use from any
 * thread while the guest is held.
 */
public interface StoppedGuest {
    /** A copy of the guest's CPU state now. */
    CpuState state();

    /** Replaces the guest's CPU state (registers, debug registers, flags). */
    void setState(CpuState state);

    /**
     * The guest-physical address a guest-virtual one maps to through the guest's own
     * page tables (what the guest sees, not the shadow), or -1 if it maps to nothing.
     */
    long guestPhysical(int virtualAddress);
}
