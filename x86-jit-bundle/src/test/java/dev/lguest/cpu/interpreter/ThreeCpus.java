// Three CPUs on three test machines run the same program from the same state: an
// interpreter whose REP MOVS/STOS go element by element (the reference), an interpreter
// with StringOps' bulk path, and the translator compiling every block at its first run.
// run() says what differed first (the exit, the whole CpuState, any byte of RAM), or
// null. The machines share a layout for the random-program tests: AREA holds 128 KiB of
// the test's random bytes (LOW, below CODE, a copy for 16-bit addresses), page-table
// entries are changed as the program asks, FS is a data segment based at AREA + 0x100,
// and every exception vector exits to the host.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.KERNEL_STACK;
import static dev.lguest.cpu.interpreter.TestMachine.PAGE_TABLE;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.SegmentRegister;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;

final class ThreeCpus implements AutoCloseable {
    /** The programs' playground: 128 KiB of random bytes, page tables pointing at it as the program asks. */
    static final int AREA = 0x20000, AREA_SIZE = 0x20000;
    /** Low RAM free for 16-bit addresses (below CODE, above the tables). */
    static final int LOW = 0x8000;
    static final int PRISTINE = 0x6000;

    final TestMachine[] machines = {new TestMachine(), new TestMachine(), new TestMachine()};
    final InterpreterCpu reference = new InterpreterCpu(machines[0].bus);
    final InterpreterCpu bulkInterpreter = new InterpreterCpu(machines[1].bus);
    final TranslatingCpu translator = new TranslatingCpu(machines[2].bus, 0, true);
    final InterpreterCpu[] cpus = {reference, bulkInterpreter, translator};
    final MemorySegment pristine = MemorySegment.ofArray(new byte[PRISTINE]);
    final CpuState start;
    CpuExit lastExit;

    ThreeCpus() {
        reference.executor.strings.bulk = false;
        TestMachine m = machines[0];
        // FS: a flat-limit data segment based at AREA + 0x100 (the checked path).
        m.writeDescriptor(8, AREA + 0x100, 0xfffff, 0xc093 | (1 << 5));
        CpuState s = m.cpu.saveState();
        for (int v = 0; v < 32; v++) {
            s.setHostVector(v, true);
        }
        s.gdtLimit = 16 * 8 - 1;
        s.setSegment(SegmentRegister.FS, m.segment(0x41));
        start = s;
        pristine.copyFrom(m.ram.asSlice(0, PRISTINE));
    }

    /** Runs the program on all three; null, or what differed from the reference. */
    String run(int[] program, int[] gpr, int eflags, byte[] area, int[] pageTableEntries, long budget) {
        CpuState[] ends = new CpuState[3];
        CpuExit[] exits = new CpuExit[3];
        for (int which = 0; which < 3; which++) {
            TestMachine m = machines[which];
            m.ram.asSlice(0, PRISTINE).copyFrom(pristine);
            MemorySegment.copy(MemorySegment.ofArray(area), 0, m.ram, AREA, AREA_SIZE);
            MemorySegment.copy(MemorySegment.ofArray(area), 0, m.ram, LOW, CODE - LOW);
            m.ram.asSlice(KERNEL_STACK - 0x1000, 0x1000).fill((byte) 0);
            m.ram.asSlice(CODE, 0x1000).fill((byte) 0);
            for (int i = 0; i < pageTableEntries.length; i += 2) {
                m.write32(PAGE_TABLE + (pageTableEntries[i] >>> 12) * 4, pageTableEntries[i + 1]);
            }
            m.load(CODE, program);
            CpuState s = start;
            System.arraycopy(gpr, 0, s.gpr, 0, 8);
            s.eflags = eflags;
            s.eip = CODE;
            cpus[which].loadState(s);
            exits[which] = cpus[which].run(budget);
            ends[which] = cpus[which].saveState();
        }
        lastExit = exits[0];
        if (translator.internalErrors != 0 || translator.translationFailures != 0
                || bulkInterpreter.internalErrors != 0 || reference.internalErrors != 0) {
            return "internal errors: reference " + reference.internalErrors + ", bulk "
                    + bulkInterpreter.internalErrors + ", translator " + translator.internalErrors
                    + " (translation failures " + translator.translationFailures + ")";
        }
        String[] names = {"reference", "bulk interpreter", "translator"};
        for (int which = 1; which < 3; which++) {
            if (!exits[0].equals(exits[which])) {
                return names[which] + ": exit " + exits[0] + " vs " + exits[which];
            }
            if (!ends[0].equals(ends[which])) {
                return names[which] + ": state\n  reference " + describe(ends[0]) + "\n  " + names[which]
                        + " " + describe(ends[which]);
            }
            long differs = machines[0].ram.mismatch(machines[which].ram);
            if (differs >= 0) {
                return names[which] + ": RAM differs at 0x" + Long.toHexString(differs);
            }
        }
        return null;
    }

    @Override
    public void close() {
        for (TestMachine m : machines) {
            m.close();
        }
    }

    static String describe(CpuState s) {
        StringBuilder b = new StringBuilder("eip=" + Integer.toHexString(s.eip) + " eflags="
                + Integer.toHexString(s.eflags) + " tsc=" + s.tsc + " cr2=" + Integer.toHexString(s.cr2));
        for (int r = 0; r < 8; r++) {
            b.append(' ').append(Integer.toHexString(s.gpr[r]));
        }
        return b.toString();
    }

    static String hex(int[] values) {
        StringBuilder b = new StringBuilder();
        for (int v : values) {
            b.append(values.length > 8 ? String.format("%02x", v & 0xff) : Integer.toHexString(v) + " ");
        }
        return b.toString();
    }

    static void imm32(List<Integer> out, int value) {
        for (int i = 0; i < 4; i++) {
            out.add((value >>> (8 * i)) & 0xff);
        }
    }

    /** Maybe something that reads the flags: SETcc into byte register {@code byteRegister}, or PUSHF. */
    static void flagReader(Random random, List<Integer> out, int byteRegister) {
        switch (random.nextInt(3)) {
            case 0 -> {
                out.add(0x0f);
                out.add(0x90 + random.nextInt(16));
                out.add(0xc0 | byteRegister);
            }
            case 1 -> out.add(0x9c);
            default -> {
            }
        }
    }
}
