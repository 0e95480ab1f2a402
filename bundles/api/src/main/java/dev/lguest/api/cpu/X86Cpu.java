package dev.lguest.api.cpu;

/**
 * One x86 processor: an i686 (integer and x87) in protected mode with paging.
 *
 * It is hardware and knows nothing of lguest. Its host programs it as lguest
 * programs a real CPU: the state it runs with (registers, descriptor tables, CR3
 * pointing at shadow page tables) and which vectors come back to the host. It then
 * runs until something the host asked to see happens.
 *
 * A CPU is used by one thread at a time (the guest's); only {@link #interrupt()} may
 * be called from any thread.
 *
 * What a debugger on the host relies on (the gdb stub), as on a real i686: EFLAGS.TF
 * single-steps (#DB after each instruction, DR6.BS); the debug registers in the state
 * ({@link CpuState#debugRegisters}) trigger as DR7 enables them, an instruction
 * breakpoint as a #DB fault before the instruction unless RF is set, a data watchpoint
 * as a #DB trap after the access, each with its DR6 B bit; INT3 is vector 3 with EIP
 * past it; and bytes written into RAM from outside the CPU (a breakpoint's INT3) are
 * what runs from the next {@link #run} on, whatever the CPU has cached or compiled.
 */
public interface X86Cpu {
    /** A copy of the whole architectural state, taken at an instruction boundary. */
    CpuState saveState();

    /** Takes the whole architectural state (and flushes the TLB, as a CR3 load would). */
    void loadState(CpuState state);

    /**
     * Takes the whole architectural state as {@link #loadState} does, but keeps the
     * cached translations when the state's paging controls (CR0 apart from TS, CR3,
     * CR4) and debug registers are the ones the CPU has: what a host does when it
     * moves the CPU into a trap handler or changes TS, which costs a real CPU no TLB
     * flush. The host must still flush (setCr3, invalidatePage) for what it changed
     * in the page tables. The default is loadState.
     */
    default void loadStateKeepingTlb(CpuState state) {
        loadState(state);
    }

    /** CR0 as the CPU has it now (TS included). */
    default int cr0() {
        return saveState().cr0;
    }

    /**
     * CR3 as the CPU has it now: the host loads it only when it differs, since a load
     * throws away every cached translation (the page tables component may have loaded
     * it already while it switched the guest's directory).
     */
    default int cr3() {
        return saveState().cr3;
    }

    /** CR2: the address of the last page fault. */
    default int cr2() {
        return saveState().cr2;
    }

    /**
     * Runs until an exit: a vector routed to the host, an {@link #interrupt()}, the
     * budget of instructions, or a shutdown. Never throws for anything the code it runs
     * does: every outcome of guest code is an x86 outcome.
     */
    CpuExit run(long instructionBudget);

    /**
     * {@link #run}, for a host that knows what was written into RAM from outside the
     * CPU since the last run: with {@code onlyNamedWrites} the host promises that
     * nothing was but the frames it named with {@link #frameWritten}, and the CPU may
     * keep using, unchecked, code it decoded or compiled from every other frame. The
     * host passes false whenever anything else may have written that it could not
     * name (the Launcher, a debugger, whoever had the guest before this CPU), which
     * is a plain run. A device writing while the CPU runs names its buffers, then
     * {@link #interrupt()}s the CPU, before the guest can know of them (the switcher's
     * GuestMemory.watchDeviceWrites). The default is a plain run.
     */
    default CpuExit run(long instructionBudget, boolean onlyNamedWrites) {
        return run(instructionBudget);
    }

    /**
     * The host wrote into this guest-physical frame (not through the CPU) since the
     * last run: what the CPU cached from it must be looked at again. The default
     * caches nothing across a plain run, so it has nothing to do.
     */
    default void frameWritten(int frame) {
    }

    /** Asks the running CPU to stop at the next instruction boundary. Thread-safe. */
    void interrupt();

    /** General register by encoding number ({@link X86#EAX} ...). */
    int gpr(int register);

    void setGpr(int register, int value);

    int eip();

    void setEip(int eip);

    /** Loads CR3 and flushes the non-global TLB, as MOV CR3 does. */
    void setCr3(int cr3);

    /** Drops one linear page from the TLB, as INVLPG does. */
    void invalidatePage(int linearAddress);
}
