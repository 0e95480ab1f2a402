// A decoded instruction's size in the heap. Linux's fork, exec and exit paths run
// thousands of cached blocks a few times each, and their decoded instructions are
// mostly out of the processor's caches when they run: every byte of Instruction is
// fetched again. 48 bytes, not 56, is one cache line less per eight instructions
// (the far pointer's and ENTER's second immediate share the displacement field).
package dev.lguest.cpu.interpreter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class InstructionFootprintTest {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    @Test
    void anInstructionTakesAtMost48Bytes() {
        int count = 10_000;
        Instruction[] kept = new Instruction[count];
        long before = THREADS.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < count; i++) {
            kept[i] = new Instruction();
        }
        long each = (THREADS.getCurrentThreadAllocatedBytes() - before) / count;
        assertEquals(count, kept.length);
        assertTrue(each <= 48, "an Instruction takes " + each + " bytes");
    }

    @Test
    void theSecondImmediateOfAFarCallAndOfEnterIsDecoded() {
        try (TestMachine m = new TestMachine()) {
            // call far 0x1234:0x00005678, enter 0x20, 3
            m.load(TestMachine.CODE, 0x9a, 0x78, 0x56, 0x00, 0x00, 0x34, 0x12, 0xc8, 0x20, 0x00, 0x03);
            Instruction far = m.cpu.decode();
            assertEquals(0x5678, far.immediate);
            assertEquals(0x1234, far.immediate2());
            m.cpu.eip = far.next;
            Instruction enter = m.cpu.decode();
            assertEquals(0x20, enter.immediate);
            assertEquals(3, enter.immediate2());
        }
    }

    @Test
    void aRepeatPrefixReadsAsItsByte() {
        try (TestMachine m = new TestMachine()) {
            m.load(TestMachine.CODE, 0xf3, 0xa4, 0xf2, 0xae); // rep movsb; repne scasb
            Instruction rep = m.cpu.decode();
            assertEquals(0xf3, rep.repeat());
            m.cpu.eip = rep.next;
            assertEquals(0xf2, m.cpu.decode().repeat());
        }
    }
}
