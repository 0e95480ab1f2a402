// How fast the interpreter runs code it meets rarely, printed, never asserted: a guest
// walk through many small blocks (nine integer instructions and a jump each, as the
// kernel's fork, exec and exit paths are made of), visited in a shuffled order so
// that neither the blocks nor their decoded instructions are next to the ones before,
// over and over, in nanoseconds of the running thread's CPU per guest instruction.
// With thousands of blocks the decoded code (Block and Instruction objects) no longer
// fits the processor's caches, as on the Linux benchmark's forkexec, so the figure
// moves with their footprint; with a few hundred it does not. Arguments: the blocks
// (default 6,000) and the rounds (default 8). Not a test (no @Test); run it as
// X87Benchmark's header says, with dev.lguest.cpu.interpreter.ColdCodeBenchmark.
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.X86;
import java.util.Random;

public final class ColdCodeBenchmark {
    /** Where the blocks go (mapped one to one by TestMachine, free of its tables and stacks). */
    private static final int BLOCKS_AT = 0x100000;
    private static final int BLOCK_BYTES = 32;
    /** Guest instructions each block runs, its jump included. */
    private static final int INSTRUCTIONS = 10;
    private static final int PASSES = 40;

    private ColdCodeBenchmark() {
    }

    /**
     * Block i at BLOCKS_AT + 32 i, jumping to the block after it in a shuffled order;
     * the last one counts a pass down in EBP and goes back to the first, or leaves.
     */
    private static void load(TestMachine m, int blocks) {
        int[] order = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            order[i] = i;
        }
        Random random = new Random(42);
        for (int i = blocks - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int k = 0; k < blocks; k++) {
            int i = order[k];
            int at = BLOCKS_AT + i * BLOCK_BYTES;
            int slot = (i & 31) * 4;
            int[] body = TestMachine.concat(
                    new int[] {0x8b, 0x43, slot}, // mov eax, [ebx + slot]
                    new int[] {0x01, 0xc8}, // add eax, ecx
                    new int[] {0x89, 0x43, 0x80 + slot}, // mov [ebx + 0x80 + slot], eax
                    new int[] {0x41}, // inc ecx
                    new int[] {0x8d, 0x54, 0x48, 0x04}, // lea edx, [eax + ecx*2 + 4]
                    new int[] {0x31, 0xd6}, // xor esi, edx
                    new int[] {0x85, 0xf6}, // test esi, esi
                    new int[] {0xc1, 0xe2, 0x03}, // shl edx, 3
                    new int[] {0x01, 0xd7}); // add edi, edx
            int jumpAt = at + body.length;
            m.load(at, body);
            if (k < blocks - 1) {
                int next = BLOCKS_AT + order[k + 1] * BLOCK_BYTES;
                m.load(jumpAt, TestMachine.concat(new int[] {0xe9}, TestMachine.imm32(next - (jumpAt + 5))));
            } else {
                // dec ebp; jnz first; int HOST_EXIT
                int first = BLOCKS_AT + order[0] * BLOCK_BYTES;
                m.load(jumpAt, TestMachine.concat(new int[] {0x4d, 0x0f, 0x85},
                        TestMachine.imm32(first - (jumpAt + 7)), new int[] {0xcd, TestMachine.HOST_EXIT}));
            }
        }
        m.load(TestMachine.CODE, TestMachine.concat(new int[] {0xe9},
                TestMachine.imm32(BLOCKS_AT + order[0] * BLOCK_BYTES - (TestMachine.CODE + 5))));
    }

    public static void main(String[] args) {
        int blocks = args.length > 0 ? Integer.parseInt(args[0]) : 6000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        try (TestMachine m = new TestMachine()) {
            load(m, blocks);
            for (int round = 0; round < rounds; round++) {
                var s = m.cpu.saveState();
                s.eip = TestMachine.CODE;
                s.eflags = X86.EFLAGS_FIXED;
                s.gpr[X86.EBX] = TestMachine.DATA;
                s.gpr[X86.EBP] = PASSES;
                m.cpu.loadState(s);
                long cpu = m.cpuNanosToHostExit();
                double instructions = (double) PASSES * blocks * INSTRUCTIONS;
                System.out.printf("round %d, %,d blocks: %6.2f ns of CPU per guest instruction%n", round, blocks,
                        cpu / instructions);
            }
        }
    }
}
