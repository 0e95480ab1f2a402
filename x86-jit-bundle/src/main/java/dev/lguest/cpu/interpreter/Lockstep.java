// A test mode: the interpreter runs beside the translator and the two must agree on
// the whole architectural state (CpuState) at the end of every block the translator
// ran, and on RAM and the exit at the end of every run().
//
// The reference interpreter has its own copy of RAM, so the two never see each other's
// stores. At the start of each run() it takes the translator's state and RAM (the host
// may have changed either between runs); after each block it runs the instructions the
// translator retired since the last comparison, which also carries it through any
// fault the translator delivered through the IDT on the way. A block that left by a
// fault is compared at the next block's end. Host-private pages (a real lguest host's
// shadow page tables) are not copied: lockstep is for machines whose page tables and
// code live in guest RAM, as the test machines' do.
//
// Checking one run() in N (lguest.jit.lockstepEvery, 1 by default: every run): the
// copy and the comparison of RAM at each run's ends cost a pass over all of guest
// memory, and a Linux guest leaves run() thousands of times a second (every page-table
// hypercall), so a real boot in full lockstep takes half an hour. With N > 1 only every
// Nth run() is shadowed, fully: RAM copied at its start, the state compared at each of
// its block ends and RAM at its end; the runs between go unchecked (the reference is
// loaded afresh at the next checked one). That is a sample of whole runs, spread over
// the guest's life, for tests that must fit a time budget.
//
// A difference stops the translator as a shutdown counted in internalErrors, and
// mismatch() says where and what differed; it is also printed on standard error, and
// when the JVM ends a summary line says how many comparisons were made in all, so a
// whole guest run under lockstep (a real Linux boot) reports that it ran clean.
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.memory.PhysicalMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;

final class Lockstep {
    private final MemorySegment ram;
    private final MemorySegment referenceRam;
    private final PhysicalMemory referenceBus;
    private final InterpreterCpu reference;
    /** The translator's retired count the reference has caught up with. */
    private long synced;
    /** How the reference's last run() in this translator run ended (null: none ran yet). */
    private CpuExit referenceExit;
    private String mismatch;
    /** Check one run() in this many; whether the current one is checked. */
    private final int every;
    private long runsSeen;
    private boolean active;
    /** How many times the two states were compared. */
    long comparisons;
    /** Over every lockstep CPU of this JVM: comparisons, runs and differences (the summary line). */
    private static final AtomicLong ALL_COMPARISONS = new AtomicLong(), ALL_RUNS = new AtomicLong(),
            ALL_DIFFERENCES = new AtomicLong();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> System.err.printf(
                "lockstep: %,d block ends and %,d run ends compared with the interpreter, %d differences%n",
                ALL_COMPARISONS.get(), ALL_RUNS.get(), ALL_DIFFERENCES.get())));
    }

    Lockstep(PhysicalMemory bus) {
        this(bus, 1);
    }

    /** A lockstep checking one run() in {@code every}. */
    Lockstep(PhysicalMemory bus, int every) {
        this.every = Math.max(1, every);
        ram = bus.ram();
        // Freed with the CPU that holds it (any thread may run it).
        referenceRam = Arena.ofAuto().allocate(ram.byteSize(), PhysicalMemory.PAGE_SIZE);
        // The same host-private pages (a real host's shadow page tables, GDT and IDT): the
        // reference walks what the translator walks, over its own copy of guest RAM.
        referenceBus = bus.withRam(referenceRam);
        reference = new InterpreterCpu(referenceBus);
    }

    /** The first difference found, or null. */
    String mismatch() {
        return mismatch;
    }

    void startRun(TranslatingCpu cpu) {
        active = mismatch != null || runsSeen++ % every == 0;
        if (!active) {
            return;
        }
        referenceRam.copyFrom(ram);
        reference.loadState(stateOf(cpu));
        synced = cpu.retired;
        referenceExit = null;
    }

    /**
     * After a block returned normally: the reference catches up and the states are
     * compared. Not when the block stopped for the host (an INT through a gate that is
     * not present, its #NP routed to the host, ends the block without a thrown fault):
     * the faulting instruction retired nothing, so the reference, caught up by count,
     * stands before it, without the fault's RF; finishRun brings it to the same stop.
     */
    void afterBlock(TranslatingCpu cpu) {
        if (!active || mismatch != null || cpu.pendingExit != null) {
            return;
        }
        catchUp(cpu);
        compare(cpu, "after the block ending at " + Integer.toHexString(cpu.eip));
        if (mismatch != null) {
            cpu.requestExit(ExitReason.SHUTDOWN, 0, 0);
        }
    }

    /** At the end of run(): the last instructions, the exit, and all of RAM. Returns false on a difference. */
    boolean finishRun(TranslatingCpu cpu, CpuExit exit) {
        if (!active) {
            return true;
        }
        boolean clean = finishRunComparing(cpu, exit);
        ALL_RUNS.incrementAndGet();
        if (!clean) {
            ALL_DIFFERENCES.incrementAndGet();
            System.err.println("lockstep: the translator and the interpreter differ " + mismatch);
        }
        return clean;
    }

    private boolean finishRunComparing(TranslatingCpu cpu, CpuExit exit) {
        if (mismatch != null) {
            return false;
        }
        catchUp(cpu);
        boolean stoppedByAFault = exit.reason() == ExitReason.VECTOR || exit.reason() == ExitReason.SHUTDOWN;
        if (stoppedByAFault && (referenceExit == null || referenceExit.reason() == ExitReason.BUDGET)) {
            // The translator stopped on a fault routed to the host, or on a triple fault:
            // the reference, stopped at the same boundary, meets it next.
            referenceExit = reference.run(1);
        }
        if (stoppedByAFault && (referenceExit == null || referenceExit.reason() != exit.reason()
                || referenceExit.vector() != exit.vector() || referenceExit.errorCode() != exit.errorCode())) {
            mismatch = "exit " + exit + ", the interpreter's " + referenceExit;
            return false;
        }
        compare(cpu, "at the end of run() (" + exit + ")");
        if (mismatch == null) {
            long at = MemorySegment.mismatch(ram, 0, ram.byteSize(), referenceRam, 0, referenceRam.byteSize());
            if (at >= 0) {
                mismatch = String.format("RAM differs at %x: %02x, the interpreter's %02x", at,
                        ram.get(LinearMemory.BYTE, at), referenceRam.get(LinearMemory.BYTE, at));
            }
        }
        return mismatch == null;
    }

    private void catchUp(TranslatingCpu cpu) {
        long behind = cpu.retired - synced;
        synced = cpu.retired;
        if (behind > 0) {
            referenceExit = reference.run(behind);
        }
    }

    private void compare(TranslatingCpu cpu, String where) {
        comparisons++;
        ALL_COMPARISONS.incrementAndGet();
        CpuState translated = stateOf(cpu);
        CpuState interpreted = stateOf(reference);
        if (!translated.equals(interpreted)) {
            mismatch = where + ":\n  translator:  " + translated + "\n  interpreter: " + interpreted;
        }
    }

    /**
     * The CPU's state, without disturbing it: saveState works out pending flags, and
     * the pending record is put back so the run goes on exactly as it would have.
     */
    private static CpuState stateOf(InterpreterCpu cpu) {
        Alu alu = cpu.alu;
        int pending = alu.pending, result = alu.lastResult, destination = alu.lastDestination, source = alu.lastSource;
        CpuState state = cpu.saveState();
        alu.pending = pending;
        alu.lastResult = result;
        alu.lastDestination = destination;
        alu.lastSource = source;
        return state;
    }
}
