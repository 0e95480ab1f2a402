package dev.lguest.api.cpu;

/** Why {@link X86Cpu#run} returned to the host. */
public enum ExitReason {
    /** A vector the host asked to see was raised (a fault, a trap, or INT n). */
    VECTOR,
    /** Someone called {@link X86Cpu#interrupt()}: a host interrupt or an external break. */
    INTERRUPTED,
    /** The instruction budget given to run() was used up. */
    BUDGET,
    /** A fault while delivering a double fault: the CPU shut down (a triple fault). */
    SHUTDOWN
}
