// A TLB refill walks the guest's page tables and installs the page it found. Linux
// refills thousands of translations after each address-space switch (every fork, exec
// and exit), so a refill must cost the walk's reads and nothing else: it once
// allocated a new segment for each table entry it read and for the page it found.
// Also that the walk still reads and marks the tables in RAM as before.
package dev.lguest.cpu.interpreter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.X86;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class TlbRefillTest {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    @Test
    void aRefillAllocatesNothing() {
        try (TestMachine m = new TestMachine()) {
            LinearMemory memory = m.cpu.memory;
            m.write32(TestMachine.DATA, 0x12345678);
            // The first walk to a page may make its segment, once.
            memory.invalidate(TestMachine.DATA);
            assertEquals(0x12345678, memory.read32(TestMachine.DATA, LinearMemory.READ));
            int refills = 10_000;
            long before = THREADS.getCurrentThreadAllocatedBytes();
            long sum = 0;
            for (int i = 0; i < refills; i++) {
                memory.invalidate(TestMachine.DATA);
                sum += memory.read32(TestMachine.DATA, LinearMemory.READ);
            }
            long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
            assertEquals(0x12345678L * refills, sum);
            // A segment is 30-40 bytes: one per refill would be hundreds of kilobytes.
            assertTrue(allocated < refills, allocated + " bytes allocated by " + refills + " refills");
        }
    }

    @Test
    void aWalkMarksTheEntriesItUsesInRam() {
        try (TestMachine m = new TestMachine()) {
            int pte = TestMachine.PAGE_TABLE + (TestMachine.DATA >>> 12) * 4;
            m.write32(pte, TestMachine.DATA | 7);
            m.write32(TestMachine.PAGE_DIRECTORY, TestMachine.PAGE_TABLE | 7);
            LinearMemory memory = m.cpu.memory;
            memory.invalidate(TestMachine.DATA);
            memory.read32(TestMachine.DATA, LinearMemory.READ);
            assertEquals(TestMachine.DATA | 7 | X86.PTE_ACCESSED, m.read32(pte));
            assertEquals(TestMachine.PAGE_TABLE | 7 | X86.PTE_ACCESSED, m.read32(TestMachine.PAGE_DIRECTORY));
            memory.invalidate(TestMachine.DATA);
            memory.write32(TestMachine.DATA, 5, LinearMemory.READ);
            assertEquals(TestMachine.DATA | 7 | X86.PTE_ACCESSED | X86.PTE_DIRTY, m.read32(pte));
            assertEquals(5, m.read32(TestMachine.DATA));
        }
    }
}
