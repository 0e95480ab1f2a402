package dev.lguest.api.debug;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.guest.Guest;

/**
 * What the switcher asks a debugger, the way a host kernel's debugger sits beside its
 * trap handling: the CPU is hardware with debug registers, INT3 and the trap flag, and
 * while a debugger holds a guest those are the host's. The switcher then routes #DB
 * and #BP to the host, and at each such exit asks whether it was the debugger's
 * (a breakpoint or step it set: the guest stops for it) or the guest's own (delivered
 * to the guest as always). A stopped guest's thread parks inside
 * {@link #holdStopped} holding nothing, like a halted guest, so swaps go on around it.
 *
 * Every method is called on the guest's thread and must not throw; {@link #isAttached}
 * is called at every turn of the run loop and must be cheap.
 */
public interface GuestDebugger {
    /** Whether a debugger holds this guest: #DB and #BP then come to the host. */
    boolean isAttached(Guest guest);

    /** Whether the debugger wants the guest stopped at this boundary (an interrupt from gdb, a claimed trap). */
    boolean stopRequested(Guest guest);

    /**
     * While the debugger single-steps, no interrupt is delivered to the guest (as QEMU
     * steps by default), so a step lands on the next instruction of the code stepped.
     */
    boolean holdsInterrupts(Guest guest);

    /**
     * A #DB or #BP of a debugged guest, with the CPU's state as the exit left it
     * (DR6 says which breakpoint or step): true if the debugger set it (the guest
     * stops at the next boundary), false if it is the guest's own.
     */
    boolean claims(Guest guest, int vector, CpuState state);

    /**
     * The guest is stopped at an instruction boundary for the debugger: returns when
     * the debugger resumes it, lets it go, or the guest dies. The caller holds no lock;
     * {@code target} reads and changes the stopped guest.
     */
    void holdStopped(Guest guest, StoppedGuest target) throws InterruptedException;

    /** The switcher set a guest up and it has not run yet (a debugger armed for it attaches now). */
    void guestSetUp(Guest guest);

    /** The switcher let the guest go (it is dead): a debugger tells gdb and lets go of it. */
    void guestReleased(Guest guest);
}
