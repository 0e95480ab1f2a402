// How fast the interpreter runs REP MOVS and REP STOS, printed, never asserted: a
// guest loop copying 1 MiB with rep movsl, filling it with rep stosl and copying it
// again with rep movsb (the memcpy/memset of the kernel and C libraries), with
// StringOps' bulk path on and off in alternate rounds, in MiB moved per CPU second of
// the running thread (steadier than wall time on a loaded machine). Not a test (no
// @Test); run it as X87Benchmark's header says, with dev.lguest.cpu.interpreter.StringBenchmark.
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.X86;

public final class StringBenchmark {
    private static final int SOURCE = 0x100000, TARGET = 0x200000, BYTES = 1 << 20, PASSES = 20;

    private StringBenchmark() {
    }

    private static int[] program() {
        return TestMachine.concat(
                new int[] {0xbd}, TestMachine.imm32(PASSES), // mov ebp, PASSES
                new int[] {0xfc}, // loop: cld
                new int[] {0xb9}, TestMachine.imm32(BYTES / 4), // mov ecx
                new int[] {0xbe}, TestMachine.imm32(SOURCE), // mov esi
                new int[] {0xbf}, TestMachine.imm32(TARGET), // mov edi
                new int[] {0xf3, 0xa5}, // rep movsl
                new int[] {0xb9}, TestMachine.imm32(BYTES / 4),
                new int[] {0xbf}, TestMachine.imm32(TARGET),
                new int[] {0xf3, 0xab}, // rep stosl
                new int[] {0xb9}, TestMachine.imm32(BYTES),
                new int[] {0xbe}, TestMachine.imm32(SOURCE),
                new int[] {0xbf}, TestMachine.imm32(TARGET),
                new int[] {0xf3, 0xa4}, // rep movsb
                new int[] {0x4d}, // dec ebp
                new int[] {0x0f, 0x85}, TestMachine.imm32(-(1 + 5 + 5 + 5 + 2 + 5 + 5 + 2 + 5 + 5 + 5 + 2 + 1 + 6)),
                new int[] {0xcd, TestMachine.HOST_EXIT});
    }

    public static void main(String[] args) {
        try (TestMachine m = new TestMachine()) {
            int[] program = program();
            for (int round = 0; round < 10; round++) {
                for (boolean bulk : new boolean[] {false, true}) {
                    m.load(TestMachine.CODE, program);
                    m.cpu.executor.strings.bulk = bulk;
                    var s = m.cpu.saveState();
                    s.eip = TestMachine.CODE;
                    s.eflags = X86.EFLAGS_FIXED;
                    m.cpu.loadState(s);
                    long cpu = m.cpuNanosToHostExit();
                    double mib = 3.0 * PASSES * BYTES / (1 << 20);
                    System.out.printf("round %d, bulk %-5s: %,8.1f MiB/s of CPU (%,d ms CPU)%n", round, bulk,
                            mib / (cpu / 1e9), cpu / 1_000_000);
                }
            }
        }
    }
}
