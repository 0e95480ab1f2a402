// How fast the translator runs a guest's system call, printed, never asserted: the
// trip of the Linux benchmark's syscalls program (guest/benchmarks/syscalls.c) into
// the guest kernel and back without Linux around it, so a change to INT n, IRET or
// the segment loads can be measured in one JVM on a loaded machine, in system calls
// per CPU second of the running thread. User code at CPL 3 runs INT 0x80 in a loop;
// the gate (DPL 3, as lguest's direct trap) enters a ring 1 handler on the TSS's
// stack, which saves FS, ES and DS, loads them as Linux 2.6.24's entry code does (the
// user data segment into DS and ES again, a kernel data segment into FS, which user
// code holds null), counts the call in memory, restores the three and returns with
// IRET (to the outer level: SS and ESP popped too). Not a test (no
// @Test); run it on the test classes, e.g.
//   ./mvnw -B -q test-compile -pl x86-jit-bundle -am
//   java --enable-native-access=ALL-UNNAMED -cp x86-jit-bundle/target/test-classes:x86-jit-bundle/target/classes:\
//       x86-cpu-bundle/target/test-classes:x86-cpu-bundle/target/classes:bundles/api/target/classes \
//       dev.lguest.cpu.interpreter.SystemCallBenchmark
//
// The program (NASM, org CODE; the handler at CODE + 0x100, DATA = 0x20000: the count):
//   main:    mov ecx, ROUNDS
//   again:   mov eax, 20 / int 0x80 / dec ecx / jnz again / int HOST_EXIT
//   handler: push fs / push es / push ds / push eax / mov edx, USER_DATA / mov ds, edx
//            mov es, edx / mov edx, KERNEL_DATA / mov fs, edx / inc dword [DATA]
//            pop eax / pop ds / pop es / pop fs / iret
package dev.lguest.cpu.interpreter;

public final class SystemCallBenchmark {
    private static final int ROUNDS = 1_000_000, HANDLER = 0x100;
    private static final int[] MAIN = {
            0xb9, 0x00, 0x00, 0x00, 0x00, 0xb8, 0x14, 0x00, 0x00, 0x00, 0xcd, 0x80, 0x49, 0x75, 0xf6,
            0xcd, TestMachine.HOST_EXIT,
    };
    private static final int[] HANDLER_CODE = {
            0x0f, 0xa0, 0x06, 0x1e, 0x50, 0xba, TestMachine.USER_DATA, 0x00, 0x00, 0x00, 0x8e, 0xda, 0x8e, 0xc2,
            0xba, TestMachine.KERNEL_DATA, 0x00, 0x00, 0x00, 0x8e, 0xe2, 0xff, 0x05, 0x00, 0x00, 0x02, 0x00, 0x58,
            0x1f, 0x07, 0x0f, 0xa1, 0xcf,
    };

    private SystemCallBenchmark() {
    }

    public static void main(String[] args) {
        if (System.getProperty(CpuUnderTest.FACTORY_PROPERTY) == null) {
            System.setProperty(CpuUnderTest.FACTORY_PROPERTY, TranslatingCpuFactory.class.getName());
        }
        try (TestMachine m = new TestMachine()) {
            m.load(TestMachine.CODE, MAIN);
            m.write32(TestMachine.CODE + 1, ROUNDS);
            m.load(TestMachine.CODE + HANDLER, HANDLER_CODE);
            m.setGate(0x80, TestMachine.KERNEL_CODE, TestMachine.CODE + HANDLER, 0xe, 3);
            for (int round = 0; round < 15; round++) {
                m.enterUserMode(TestMachine.CODE, TestMachine.USER_STACK);
                long cpu = m.cpuNanosToHostExit();
                System.out.printf("round %2d: %,6.2f M system calls per CPU second (%,d ms CPU), count %d%n",
                        round, ROUNDS / (cpu / 1e3), cpu / 1_000_000, m.read32(TestMachine.DATA));
            }
        }
    }
}
