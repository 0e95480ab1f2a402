package dev.lguest.api.cpu;

/**
 * What ended a run of the CPU. For {@link ExitReason#VECTOR}, {@code vector} and
 * {@code errorCode} are what the CPU would have pushed (errorCode is 0 for vectors
 * without one) and EIP in the state is what it would have pushed: the faulting
 * instruction for a fault, the next one for a trap or INT n. For a page fault, CR2
 * holds the faulting address. {@code instructions} counts the instructions retired in
 * this run.
 */
public record CpuExit(ExitReason reason, int vector, int errorCode, long instructions) {
}
