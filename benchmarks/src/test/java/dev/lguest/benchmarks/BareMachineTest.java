package dev.lguest.benchmarks;

import dev.lguest.cpu.interpreter.InterpreterCpuFactory;
import org.junit.jupiter.api.Test;

import java.io.InputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The benchmark measures real work: the interpreter computes the workload's checksum
 * exactly as the real CPU does (the expected values are what bench-linux.elf prints
 * natively for the same rounds).
 */
class BareMachineTest {
    @Test
    void theInterpreterAgreesWithTheRealCpu() throws Exception {
        byte[] image;
        try (InputStream in = getClass().getClassLoader().getResourceAsStream("guests/bench-bare.elf")) {
            image = in.readAllBytes();
        }
        try (BareMachine machine = new BareMachine(new InterpreterCpuFactory(), image)) {
            long[] instructions = new long[1];
            assertEquals(0x974b1e1e, machine.run(2, instructions));
            assertTrue(instructions[0] > 1_000_000, "the workload is real work: " + instructions[0]);
            // A second run starts from fresh memory and gives the same answer.
            assertEquals(0x974b1e1e, machine.run(2, new long[1]));
        }
    }
}
