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
// A difference stops the translator as a shutdown counted in internalErrors, and
// mismatch() says where and what differed.
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.memory.PhysicalMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

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
    /** How many times the two states were compared. */
    long comparisons;

    Lockstep(PhysicalMemory bus) {
        ram = bus.ram();
        // Freed with the CPU that holds it (any thread may run it).
        referenceRam = Arena.ofAuto().allocate(ram.byteSize(), PhysicalMemory.PAGE_SIZE);
        referenceBus = new PhysicalMemory(referenceRam);
        reference = new InterpreterCpu(referenceBus);
    }

    /** The first difference found, or null. */
    String mismatch() {
        return mismatch;
    }

    void startRun(TranslatingCpu cpu) {
        referenceRam.copyFrom(ram);
        reference.loadState(stateOf(cpu));
        synced = cpu.retired;
        referenceExit = null;
    }

    /** After a block returned normally: the reference catches up and the states are compared. */
    void afterBlock(TranslatingCpu cpu) {
        if (mismatch != null) {
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
