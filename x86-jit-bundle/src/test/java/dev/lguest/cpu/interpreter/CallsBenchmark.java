// How fast the translator runs call-heavy code, printed, never asserted: the shape of
// the Linux benchmark's calls program (guest/benchmarks/calls.c) without Linux around
// it, so a change to how compiled blocks pass control on can be measured in one JVM on
// a loaded machine, in transfers per CPU second of the running thread. Each round runs
// a bytecode machine of five operations, each a function reached through a table of
// function pointers (CALL [table+eax*4], five targets in turn, and five RETs back to
// one place), then a naive recursive Fibonacci (a direct CALL, RETs to two places). Not
// a test (no @Test); run it on the test classes, e.g.
//   ./mvnw -B -q test-compile -pl x86-jit-bundle -am
//   java --enable-native-access=ALL-UNNAMED -cp x86-jit-bundle/target/test-classes:x86-jit-bundle/target/classes:\
//       x86-cpu-bundle/target/test-classes:x86-cpu-bundle/target/classes:bundles/api/target/classes \
//       dev.lguest.cpu.interpreter.CallsBenchmark
// lguest.jit.jumpCache=false turns TranslatingCpu's jump cache off for a comparison.
//
// The program (NASM, org CODE, DATA = 0x20000: acc, counter, pc, sum, the bytecode at
// +16, the table at +32):
//   main:    mov ebp, ROUNDS
//   outer:   mov dword [acc], 1 / mov dword [counter], 20000 / mov dword [pc], 0
//   dispatch: mov eax, [pc] / movzx eax, byte [DATA+16+eax] / call [DATA+32+eax*4]
//            cmp dword [pc], 4 / jbe dispatch
//            mov eax, 18 / call fib / add [sum], eax / dec ebp / jnz outer / int HOST_EXIT
//   fib:     cmp eax, 2 / jb .done / push eax / dec eax / call fib / mov ecx, [esp]
//            mov [esp], eax / lea eax, [ecx-2] / call fib / pop ecx / add eax, ecx / .done: ret
//   op_add:  mov eax, [counter] / add [acc], eax / inc dword [pc] / ret
//   op_xor:  mov eax, [acc] / shr eax, 3 / xor [acc], eax / inc dword [pc] / ret
//   op_mul:  imul eax, [acc], 0x9e3779b1 / mov [acc], eax / inc dword [pc] / ret
//   op_dec:  dec dword [counter] / inc dword [pc] / ret
//   op_loop: mov eax, [pc] / inc eax / cmp dword [counter], 0 / je .end / xor eax, eax
//            .end: mov [pc], eax / ret
package dev.lguest.cpu.interpreter;

public final class CallsBenchmark {
    private static final int ROUNDS = 20, OPERATIONS = 20000 * 5, FIB_CALLS = 8361; // fib(18)'s calls
    private static final int[] PROGRAM = {
            0xbd, 0x00, 0x00, 0x00, 0x00, 0xc7, 0x05, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0xc7,
            0x05, 0x04, 0x00, 0x02, 0x00, 0x20, 0x4e, 0x00, 0x00, 0xc7, 0x05, 0x08, 0x00, 0x02, 0x00, 0x00,
            0x00, 0x00, 0x00, 0xa1, 0x08, 0x00, 0x02, 0x00, 0x0f, 0xb6, 0x80, 0x10, 0x00, 0x02, 0x00, 0xff,
            0x14, 0x85, 0x20, 0x00, 0x02, 0x00, 0x83, 0x3d, 0x08, 0x00, 0x02, 0x00, 0x04, 0x76, 0xe4, 0xb8,
            0x12, 0x00, 0x00, 0x00, 0xe8, 0x0b, 0x00, 0x00, 0x00, 0x01, 0x05, 0x0c, 0x00, 0x02, 0x00, 0x4d,
            0x75, 0xb3, 0xcd, 0x1f, 0x83, 0xf8, 0x02, 0x72, 0x18, 0x50, 0x48, 0xe8, 0xf4, 0xff, 0xff, 0xff,
            0x8b, 0x0c, 0x24, 0x89, 0x04, 0x24, 0x8d, 0x41, 0xfe, 0xe8, 0xe6, 0xff, 0xff, 0xff, 0x59, 0x01,
            0xc8, 0xc3, 0xa1, 0x04, 0x00, 0x02, 0x00, 0x01, 0x05, 0x00, 0x00, 0x02, 0x00, 0xff, 0x05, 0x08,
            0x00, 0x02, 0x00, 0xc3, 0xa1, 0x00, 0x00, 0x02, 0x00, 0xc1, 0xe8, 0x03, 0x31, 0x05, 0x00, 0x00,
            0x02, 0x00, 0xff, 0x05, 0x08, 0x00, 0x02, 0x00, 0xc3, 0x69, 0x05, 0x00, 0x00, 0x02, 0x00, 0xb1,
            0x79, 0x37, 0x9e, 0xa3, 0x00, 0x00, 0x02, 0x00, 0xff, 0x05, 0x08, 0x00, 0x02, 0x00, 0xc3, 0xff,
            0x0d, 0x04, 0x00, 0x02, 0x00, 0xff, 0x05, 0x08, 0x00, 0x02, 0x00, 0xc3, 0xa1, 0x08, 0x00, 0x02,
            0x00, 0x40, 0x83, 0x3d, 0x04, 0x00, 0x02, 0x00, 0x00, 0x74, 0x02, 0x31, 0xc0, 0xa3, 0x08, 0x00,
            0x02, 0x00, 0xc3,
    };
    private static final int FIB = 0x54, OP_ADD = 0x72, OP_XOR = 0x84, OP_MUL = 0x99, OP_DEC = 0xaf, OP_LOOP = 0xbc;

    private CallsBenchmark() {
    }

    public static void main(String[] args) {
        System.setProperty(CpuUnderTest.FACTORY_PROPERTY, TranslatingCpuFactory.class.getName());
        try (TestMachine m = new TestMachine()) {
            m.load(TestMachine.CODE, PROGRAM);
            m.write32(TestMachine.CODE + 1, ROUNDS);
            m.load(TestMachine.DATA + 16, 0, 1, 2, 3, 4);
            int[] operations = {OP_ADD, OP_XOR, OP_MUL, OP_DEC, OP_LOOP};
            for (int i = 0; i < operations.length; i++) {
                m.write32(TestMachine.DATA + 32 + 4 * i, TestMachine.CODE + operations[i]);
            }
            for (int round = 0; round < 15; round++) {
                m.cpu.setEip(TestMachine.CODE);
                long cpu = m.cpuNanosToHostExit();
                // Each operation is a call and a return, each fib call a call and a return.
                double transfers = 2.0 * ROUNDS * (OPERATIONS + FIB_CALLS);
                System.out.printf("round %2d: %,8.1f M calls and returns per CPU second (%,d ms CPU), sum %08x%n",
                        round, transfers / (cpu / 1e3), cpu / 1_000_000, m.read32(TestMachine.DATA + 12));
            }
        }
    }
}
