// Regions (CompiledRegion): hot blocks of one page compiled again as one method, their
// jumps to each other gotos. Each program here is a loop across several blocks, run on
// the interpreter and on a translator that makes regions after a few compiled runs, and
// stopped at every budget of a series: the state at every stop must be the interpreter's.
// The ways out of a region are each one program: a branch to a block outside it, a page
// fault in its second member, a store into its own page (the code changes under it),
// and bytes of a member changed behind the CPU's back between two runs. In lockstep every
// return from compiled code is compared; a region returns only at its exits and budget
// checks, so the loop takes far fewer returns than its blocks alone would (which is what
// fails without regions: each pass then returns two or three times).
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static dev.lguest.cpu.interpreter.TranslatorTest.stopsExactlyOnEveryBudget;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RegionTest {
    /** Compiled runs of a block before its region is made: a few, so that most of each loop runs in one. */
    private static final int REGION_THRESHOLD = 8;

    /**
     * A loop of three blocks: L1 branches on ECX's low bit to L3 or falls on to a JMP
     * to L2 (both sides of a branch), L3 and L2 count down and go back to L1; the loop's
     * end is a branch out of the region to an INT the interpreter runs.
     */
    private static final int[] BRANCHING_LOOP = concat(
            new int[] {0xb9}, imm32(3000), // mov ecx, 3000
            new int[] {0x31, 0xc0}, // xor eax, eax
            new int[] {0x01, 0xc8}, // L1 (7): add eax, ecx
            new int[] {0xf6, 0xc1, 0x01}, // test cl, 1
            new int[] {0x75, 0x05}, // jnz L3
            new int[] {0x83, 0xc3, 0x03}, // add ebx, 3
            new int[] {0xeb, 0x03}, // jmp L2
            new int[] {0x83, 0xeb, 0x01}, // L3 (19): sub ebx, 1
            new int[] {0x49}, // L2 (22): dec ecx
            new int[] {0x75, 0xee}, // jnz L1
            new int[] {0xcd, 0x1f}); // int 0x1f: the host's exit

    @Test
    void loopAcrossBlocksStopsExactlyOnEveryBudgetAndReturnsRarely() {
        List<TranslatingCpu> cpus = new ArrayList<>();
        long retired = stopsExactlyOnEveryBudget(BRANCHING_LOOP, 500, false, 0, regions(cpus));
        // Odd ECX takes six instructions a pass (to L3), even seven (the JMP to L2).
        assertEquals(2 + 1500 * 6 + 1500 * 7 + 1, retired);
        assertRegionsMade(cpus);
    }

    /** L1 adds ESI and jumps to L2, which reads at ESI (a page fault once it passes the 4 MiB mapped) and goes back. */
    @Test
    void pageFaultInTheSecondMemberStopsExactly() {
        int[] program = concat(
                new int[] {0xbe}, imm32(0x3fc000), // mov esi, 0x3fc000
                new int[] {0x01, 0xf0}, // L1 (5): add eax, esi
                new int[] {0xeb, 0x00}, // jmp L2
                new int[] {0x8b, 0x16}, // L2 (9): mov edx, [esi]
                new int[] {0x81, 0xc6}, imm32(0x40), // add esi, 0x40
                new int[] {0xeb, 0xf2}); // jmp L1
        List<TranslatingCpu> cpus = new ArrayList<>();
        long retired = stopsExactlyOnEveryBudget(program, 100, true, 0, regions(cpus));
        // 256 passes of five instructions read below 4 MiB; the 257th faults at its read.
        assertEquals(1 + 256 * 5 + 2, retired);
        assertRegionsMade(cpus);
    }

    /**
     * Half-way through, L2 stores into the immediate of L1's ADD (the region's own page):
     * the region ends at the store, its page's code is dropped, and the loop goes on
     * adding the new immediate, as on the interpreter.
     */
    @Test
    void storeIntoTheRegionsPageEndsItAndTheNewCodeRuns() {
        int[] program = concat(
                new int[] {0xb9}, imm32(2000), // mov ecx, 2000
                new int[] {0x83, 0xc0, 0x01}, // L1 (5): add eax, 1
                new int[] {0xeb, 0x00}, // jmp L2
                new int[] {0x49}, // L2 (10): dec ecx
                new int[] {0x81, 0xf9}, imm32(1000), // cmp ecx, 1000
                new int[] {0x75, 0x07}, // jne L4
                new int[] {0xc6, 0x05}, imm32(CODE + 7), new int[] {0x05}, // mov byte [L1 + 2], 5
                new int[] {0x85, 0xc9}, // L4 (26): test ecx, ecx
                new int[] {0x75, 0xe7}, // jnz L1
                new int[] {0xcd, 0x1f});
        List<TranslatingCpu> cpus = new ArrayList<>();
        stopsExactlyOnEveryBudget(program, 2000, false, 0, regions(cpus));
        assertRegionsMade(cpus);
        try (TestMachine m = new TestMachine()) {
            TranslatingCpu cpu = new TranslatingCpu(m.bus, 0, true);
            cpu.regionThreshold = REGION_THRESHOLD;
            m.load(CODE, program);
            cpu.loadState(m.cpu.saveState());
            assertEquals(ExitReason.VECTOR, cpu.run(Long.MAX_VALUE).reason());
            assertEquals(1000 * 1 + 1000 * 5, cpu.saveState().gpr[X86.EAX]);
        }
    }

    /**
     * Between two runs the host rewrites L3's SUB (a member after the entry: no lookup
     * checks its bytes while the region runs): the next run must see the new bytes, as
     * the interpreter does (CompiledRegion.holds checks every member once per epoch).
     */
    @Test
    void memberChangedBehindTheCpuBetweenRunsIsSeen() {
        CpuState[] ends = new CpuState[2];
        long regions = 0;
        for (int which = 0; which < 2; which++) {
            try (TestMachine m = new TestMachine()) {
                InterpreterCpu cpu = which == 0 ? new InterpreterCpu(m.bus) : new TranslatingCpu(m.bus, 0, true);
                if (cpu instanceof TranslatingCpu translating) {
                    translating.regionThreshold = REGION_THRESHOLD;
                }
                m.load(CODE, BRANCHING_LOOP);
                cpu.loadState(m.cpu.saveState());
                CpuExit first = cpu.run(6000);
                assertEquals(ExitReason.BUDGET, first.reason());
                m.load(CODE + 21, 0x07); // sub ebx, 1 -> sub ebx, 7
                assertEquals(ExitReason.VECTOR, cpu.run(Long.MAX_VALUE).reason());
                ends[which] = cpu.saveState();
                if (cpu instanceof TranslatingCpu translating) {
                    regions = translating.regionsCompiled;
                }
            }
        }
        assertTrue(regions > 0, "no region made");
        assertEquals(ends[0], ends[1]);
    }

    /** Sets each translating CPU to make regions after REGION_THRESHOLD compiled runs, and collects it. */
    private static java.util.function.Consumer<TranslatingCpu> regions(List<TranslatingCpu> cpus) {
        return cpu -> {
            cpu.regionThreshold = REGION_THRESHOLD;
            cpus.add(cpu);
        };
    }

    private static void assertRegionsMade(List<TranslatingCpu> cpus) {
        long made = cpus.stream().mapToLong(cpu -> cpu.regionsCompiled).sum();
        long failed = cpus.stream().mapToLong(cpu -> cpu.regionFailures).sum();
        assertTrue(made > 0, "no region made");
        assertEquals(0, failed, "regions failed");
    }
}
