// Block links are kept per code segment (LinkContexts): a system call must not forget
// the process's links, nor the return forget the kernel's, but a link must never lead
// where a lookup under the current CS, CPL and mappings would not. Each case makes a
// link under one code segment, changes what a lookup would answer (the privilege, the
// CS limit, a mapping), and runs the linked block again: the CPU must do what a fresh
// lookup says. The runs after the first keep the epoch (onlyNamedWrites), so the
// blocks stay checked and only the link keying decides.
//
// A link a TLB flush made stale is still offered to the lookup as a hint (an address
// space switch in Linux renews every generation): the cases after a CR3 reload check
// that the hint is taken when the lookup would find that very block (in a new epoch
// once its bytes are compared again), and refused when the page is mapped elsewhere
// now, its code was dropped, or memory was written behind the CPU's back.
//
// An INVLPG renews the generations only when a link may lead into its page
// (LinkedPages): the exit of a Linux process drops thousands of data pages that way.
// The last cases check that such an INVLPG keeps the links, and that one of a page
// linked into still unlinks, also when the link was made again after a flush.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.CODE;
import static dev.lguest.cpu.interpreter.TestMachine.HOST_EXIT;
import static dev.lguest.cpu.interpreter.TestMachine.PAGE_TABLE;
import static dev.lguest.cpu.interpreter.TestMachine.concat;
import static dev.lguest.cpu.interpreter.TestMachine.imm32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import org.junit.jupiter.api.Test;

class BlockLinkTest {
    /** A page of its own for the linked block, so its mapping can change alone. */
    private static final int TARGET = 0x40000;
    /** The frame TARGET is pointed at instead, holding other code. */
    private static final int OTHER_FRAME = 0x41000;
    private static final int OTHER_EXIT = 0x1e;

    private static TestMachine machineWithKernelLink() {
        return machineWithKernelLink(false);
    }

    /**
     * jmp TARGET at CODE, and at TARGET: int HOST_EXIT. The kernel runs it once, which
     * links the two blocks. TARGET may be a supervisor page.
     */
    private static TestMachine machineWithKernelLink(boolean supervisorTarget) {
        TestMachine m = new TestMachine();
        if (supervisorTarget) {
            m.write32(PAGE_TABLE + (TARGET >>> 12) * 4, TARGET | 3);
        }
        m.program(concat(new int[] {0xe9}, imm32(TARGET - (CODE + 5))));
        m.load(TARGET, 0xcd, HOST_EXIT);
        m.load(OTHER_FRAME, 0xcd, OTHER_EXIT);
        m.setGate(OTHER_EXIT, TestMachine.KERNEL_CODE, 0, 0xf, 3);
        CpuState s = m.cpu.saveState();
        s.setHostVector(X86.PF_VECTOR, true);
        s.setHostVector(X86.GP, true);
        s.setHostVector(OTHER_EXIT, true);
        m.cpu.loadState(s);
        CpuExit exit = m.cpu.run(100);
        assertEquals(ExitReason.VECTOR, exit.reason());
        assertEquals(HOST_EXIT, exit.vector());
        return m;
    }

    /** The state with CS, SS and DS replaced, at CODE, loaded as the host enters a handler. */
    private static void switchTo(TestMachine m, SegmentCache code, int data, int esp) {
        CpuState s = m.cpu.saveState();
        s.setSegment(SegmentRegister.CS, code);
        s.setSegment(SegmentRegister.SS, m.segment(data));
        s.setSegment(SegmentRegister.DS, m.segment(data));
        s.gpr[X86.ESP] = esp;
        s.eip = CODE;
        m.cpu.loadStateKeepingTlb(s);
    }

    private static CpuExit runAgain(TestMachine m) {
        return m.cpu.run(100, true);
    }

    /** Back at the jump, run again: it must reach the code now at TARGET, not the old block. */
    private static void assertTheJumpRunsTheNewCode(TestMachine m) {
        backToTheJump(m);
        CpuExit exit = runAgain(m);
        assertEquals(ExitReason.VECTOR, exit.reason());
        assertEquals(OTHER_EXIT, exit.vector());
    }

    @Test
    void aKernelLinkIsNotFollowedInUserMode() {
        // TARGET is a supervisor page: the kernel may run it, a process may not.
        try (TestMachine m = machineWithKernelLink(true)) {
            switchTo(m, m.segment(TestMachine.USER_CODE), TestMachine.USER_DATA, TestMachine.USER_STACK);
            CpuExit exit = runAgain(m);
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(X86.PF_VECTOR, exit.vector());
            assertEquals(5, exit.errorCode()); // present, user
            assertEquals(TARGET, m.cpu.cr2());
        }
    }

    @Test
    void aCodeSegmentWithAnotherLimitHasItsOwnLinks() {
        try (TestMachine m = machineWithKernelLink()) {
            // The same selector with a limit ending inside TARGET's first instruction:
            // the jump is allowed, fetching the rest of INT is not.
            SegmentCache wide = m.segment(TestMachine.KERNEL_CODE);
            SegmentCache narrow = new SegmentCache(wide.selector(), 0, TARGET, wide.attributes());
            switchTo(m, narrow, TestMachine.KERNEL_DATA, TestMachine.KERNEL_STACK);
            CpuExit exit = runAgain(m);
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(X86.GP, exit.vector());
            assertEquals(TARGET, m.cpu.eip());
        }
    }

    @Test
    void aRemapInUserModeUnlinksTheKernelsBlocksToo() {
        try (TestMachine m = machineWithKernelLink()) {
            SegmentCache kernel = m.segment(TestMachine.KERNEL_CODE);
            switchTo(m, m.segment(TestMachine.USER_CODE), TestMachine.USER_DATA, TestMachine.USER_STACK);
            // Mapped elsewhere while the process runs, flushed with INVLPG.
            m.write32(PAGE_TABLE + (TARGET >>> 12) * 4, OTHER_FRAME | 7);
            m.cpu.invalidatePage(TARGET);
            switchTo(m, kernel, TestMachine.KERNEL_DATA, TestMachine.KERNEL_STACK);
            CpuExit exit = runAgain(m);
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(OTHER_EXIT, exit.vector());
        }
    }

    @Test
    void theKernelsLinksSurviveATripToUserMode() {
        try (TestMachine m = machineWithKernelLink()) {
            SegmentCache kernel = m.segment(TestMachine.KERNEL_CODE);
            int kernelGeneration = m.cpu.linkGeneration;
            switchTo(m, m.segment(TestMachine.USER_CODE), TestMachine.USER_DATA, TestMachine.USER_STACK);
            int userGeneration = m.cpu.linkGeneration;
            assertNotEquals(kernelGeneration, userGeneration);
            switchTo(m, kernel, TestMachine.KERNEL_DATA, TestMachine.KERNEL_STACK);
            assertEquals(kernelGeneration, m.cpu.linkGeneration);
            // And the link is the one followed: the kernel still reaches TARGET.
            CpuExit exit = runAgain(m);
            assertEquals(HOST_EXIT, exit.vector());
            m.cpu.setCr3(TestMachine.PAGE_DIRECTORY); // a flush renews every segment's links
            assertNotEquals(kernelGeneration, m.cpu.linkGeneration);
        }
    }

    /** Back at CODE in the kernel, keeping the TLB, as the host resumes a guest. */
    private static void backToTheJump(TestMachine m) {
        switchTo(m, m.segment(TestMachine.KERNEL_CODE), TestMachine.KERNEL_DATA, TestMachine.KERNEL_STACK);
    }

    @Test
    void aStaleLinkIsTakenAsAHintAfterACr3Reload() {
        try (TestMachine m = machineWithKernelLink()) {
            long taken = m.cpu.codeCache.hintsTaken;
            m.cpu.setCr3(TestMachine.PAGE_DIRECTORY); // every generation renewed, nothing remapped
            backToTheJump(m);
            CpuExit exit = runAgain(m);
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(HOST_EXIT, exit.vector());
            assertEquals(taken + 1, m.cpu.codeCache.hintsTaken);
        }
    }

    @Test
    void aHintIsTakenInANewEpochWhenItsBytesAreUnchanged() {
        try (TestMachine m = machineWithKernelLink()) {
            long taken = m.cpu.codeCache.hintsTaken;
            m.cpu.setCr3(TestMachine.PAGE_DIRECTORY);
            backToTheJump(m);
            CpuExit exit = m.cpu.run(100); // a plain run: a new epoch, every block re-checked
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(HOST_EXIT, exit.vector());
            assertEquals(taken + 1, m.cpu.codeCache.hintsTaken);
        }
    }

    @Test
    void aHintIsRefusedWhenItsPageIsMappedElsewhere() {
        try (TestMachine m = machineWithKernelLink()) {
            // The same EIP, another frame under the new directory contents: a process
            // switch in which the next process maps other code at the same address.
            m.write32(PAGE_TABLE + (TARGET >>> 12) * 4, OTHER_FRAME | 7);
            m.cpu.setCr3(TestMachine.PAGE_DIRECTORY);
            backToTheJump(m);
            long taken = m.cpu.codeCache.hintsTaken;
            CpuExit exit = runAgain(m);
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(OTHER_EXIT, exit.vector());
            assertEquals(taken, m.cpu.codeCache.hintsTaken);
        }
    }

    @Test
    void aHintIsRefusedWhenItsCodeWasDropped() {
        try (TestMachine m = machineWithKernelLink()) {
            // The host rewrites TARGET's page and names it: its blocks are dropped.
            m.load(TARGET, 0xcd, OTHER_EXIT);
            m.cpu.frameWritten(TARGET >>> 12);
            m.cpu.setCr3(TestMachine.PAGE_DIRECTORY);
            assertTheJumpRunsTheNewCode(m);
        }
    }

    @Test
    void aHintIsRefusedInANewEpochWhenMemoryChanged() {
        try (TestMachine m = machineWithKernelLink()) {
            // Written behind the CPU's back and not named: the next plain run is a new
            // epoch, and the block must be compared with memory, not taken on trust.
            m.load(TARGET, 0xcd, OTHER_EXIT);
            m.cpu.setCr3(TestMachine.PAGE_DIRECTORY);
            backToTheJump(m);
            long taken = m.cpu.codeCache.hintsTaken;
            CpuExit exit = m.cpu.run(100);
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(OTHER_EXIT, exit.vector());
            assertEquals(taken, m.cpu.codeCache.hintsTaken);
        }
    }

    @Test
    void aHintForOneAddressIsNotTakenAtAnotherMappingOfItsPage() {
        try (TestMachine m = machineWithKernelLink()) {
            // TARGET's frame also mapped one page higher, and the jump now goes there:
            // the block decoded at TARGET must not serve the other EIP.
            int alias = TARGET + 0x1000;
            m.write32(PAGE_TABLE + (alias >>> 12) * 4, TARGET | 7);
            m.load(CODE, concat(new int[] {0xe9}, imm32(alias - (CODE + 5))));
            m.cpu.frameWritten(CODE >>> 12);
            m.cpu.setCr3(TestMachine.PAGE_DIRECTORY);
            backToTheJump(m);
            long taken = m.cpu.codeCache.hintsTaken;
            CpuExit exit = runAgain(m);
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(HOST_EXIT, exit.vector());
            assertEquals(alias + 2, m.cpu.eip());
            assertEquals(taken, m.cpu.codeCache.hintsTaken);
        }
    }

    @Test
    void anInvlpgOfAPageNoLinkLeadsIntoKeepsTheLinks() {
        try (TestMachine m = machineWithKernelLink()) {
            int generation = m.cpu.linkGeneration;
            long taken = m.cpu.codeCache.hintsTaken;
            m.cpu.invalidatePage(TestMachine.DATA);
            assertEquals(generation, m.cpu.linkGeneration);
            backToTheJump(m);
            CpuExit exit = runAgain(m);
            assertEquals(ExitReason.VECTOR, exit.reason());
            assertEquals(HOST_EXIT, exit.vector());
            // The link was followed: a lookup would have taken it as a hint.
            assertEquals(taken, m.cpu.codeCache.hintsTaken);
            m.cpu.invalidatePage(TARGET + 0xfff); // any address in the linked page
            assertNotEquals(generation, m.cpu.linkGeneration);
        }
    }

    @Test
    void aRemapOfAPageLinkedIntoAgainAfterAFlushUnlinks() {
        try (TestMachine m = machineWithKernelLink()) {
            // The flush forgets every link and the pages they led into; the run after it
            // links the jump to TARGET again, which must count as linked into.
            m.cpu.setCr3(TestMachine.PAGE_DIRECTORY);
            backToTheJump(m);
            assertEquals(HOST_EXIT, runAgain(m).vector());
            m.write32(PAGE_TABLE + (TARGET >>> 12) * 4, OTHER_FRAME | 7);
            m.cpu.invalidatePage(TARGET);
            assertTheJumpRunsTheNewCode(m);
        }
    }

    @Test
    void aPageWhoseCodeALookupDroppedAndDecodedAgainCountsAsLinkedInto() {
        try (TestMachine m = machineWithKernelLink()) {
            // TARGET rewritten behind the CPU's back: the plain run's lookup finds the
            // bytes changed, drops the page's blocks (forgetting every link and linked
            // page), decodes TARGET again and links the jump to it.
            m.load(TARGET, 0x90, 0xcd, HOST_EXIT);
            backToTheJump(m);
            CpuExit first = m.cpu.run(100);
            assertEquals(HOST_EXIT, first.vector());
            assertEquals(TARGET + 3, m.cpu.eip());
            m.write32(PAGE_TABLE + (TARGET >>> 12) * 4, OTHER_FRAME | 7);
            m.cpu.invalidatePage(TARGET);
            assertTheJumpRunsTheNewCode(m);
        }
    }
}
