// How fast the translator runs loop-heavy integer code, printed, never asserted: the
// machine code of guest/benchmarks/intloop.c (the Linux benchmark's intloop: a sieve,
// a bitwise CRC-32, a mul/rotate/div mix), loaded from its ELF at its own addresses
// into a TestMachine (a page table maps them) and run from the top of bench_main's
// round loop to its end, where an INT 0x1f replaces the call that reports. Prints the
// CPU time of the guest's thread per round and per guest instruction, each round, on
// the translator (the default CPU of the platform) and, with "interpreter", on the
// interpreter. Not a test (no @Test); run it as X87Benchmark's header says, with
// x86-jit-bundle's classes first and dev.lguest.cpu.interpreter.IntLoopBenchmark
// [ELF [rounds [interpreter|translator [all|sieve|crc|mix]]]] (default
// guest/target/classes/guests/lb-intloop.elf, 15 rounds, the translator, all).
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

public final class IntLoopBenchmark {
    /** Where the program's linear addresses (0x08000000 up, 4 MiB) sit in the machine's RAM. */
    private static final int PROGRAM_LINEAR = 0x08000000, PROGRAM_PHYSICAL = 0x200000, PROGRAM_TABLE = 0x6000;
    /**
     * bench_main's round loop (after bench_start) to the call to bench_report after it,
     * and the three parts of one round: the sieve, the CRC-32 and the hash mix.
     */
    private static final java.util.Map<String, int[]> SECTIONS = java.util.Map.of(
            "all", new int[] {0x8048485, 0x80485cc},
            "sieve", new int[] {0x804848d, 0x80484fc},
            "crc", new int[] {0x80484fc, 0x804853d},
            "mix", new int[] {0x804853d, 0x80485a6});

    private IntLoopBenchmark() {
    }

    public static void main(String[] args) throws IOException {
        Path elf = Path.of(args.length > 0 ? args[0] : "guest/target/classes/guests/lb-intloop.elf");
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 15;
        boolean interpreter = args.length > 2 && args[2].equals("interpreter");
        String section = args.length > 3 ? args[3] : "all";
        int start = SECTIONS.get(section)[0], end = SECTIONS.get(section)[1];
        // A part runs once per round (the whole loop counts its rounds itself).
        int runs = section.equals("all") ? 1 : rounds;
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        ByteBuffer file = ByteBuffer.wrap(Files.readAllBytes(elf)).order(ByteOrder.LITTLE_ENDIAN);
        for (int pass = 0; pass < 10; pass++) {
            try (TestMachine m = new TestMachine()) {
                InterpreterCpu cpu = interpreter ? new InterpreterCpu(m.bus) : new TranslatingCpu(m.bus, 50, false);
                m.write32(TestMachine.PAGE_DIRECTORY + (PROGRAM_LINEAR >>> 22) * 4, PROGRAM_TABLE | 7);
                for (int page = 0; page < (TestMachine.RAM_SIZE - PROGRAM_PHYSICAL) / 4096; page++) {
                    m.write32(PROGRAM_TABLE + page * 4, (PROGRAM_PHYSICAL + page * 4096) | 7);
                }
                loadSegments(m, file);
                m.load(end - PROGRAM_LINEAR + PROGRAM_PHYSICAL, 0xcd, TestMachine.HOST_EXIT);
                CpuState s = m.cpu.saveState();
                s.eip = start;
                s.eflags = X86.EFLAGS_FIXED;
                s.gpr[X86.ESI] = 0;
                s.gpr[X86.ESP] = TestMachine.KERNEL_STACK - 0x100;
                cpu.loadState(s);
                m.write32(TestMachine.KERNEL_STACK - 0x100 + 0x1c, rounds);
                long cpu0 = threads.getCurrentThreadCpuTime();
                long instructions = 0;
                CpuExit exit = null;
                for (int run = 0; run < runs; run++) {
                    CpuState again = cpu.saveState();
                    again.eip = start;
                    cpu.loadState(again);
                    do {
                        exit = cpu.run(100_000_000);
                        instructions += exit.instructions();
                    } while (exit.reason() == ExitReason.BUDGET);
                }
                long ns = threads.getCurrentThreadCpuTime() - cpu0;
                if (exit.reason() != ExitReason.VECTOR || exit.vector() != TestMachine.HOST_EXIT) {
                    throw new IllegalStateException("the loop ended with " + exit);
                }
                System.out.printf("pass %d: %,d ms CPU for %d rounds, %,d instructions, %.3f ns each, answer %08x%n",
                        pass, ns / 1_000_000, rounds, instructions, (double) ns / instructions,
                        cpu.saveState().gpr[X86.ESI]);
                if (cpu instanceof TranslatingCpu translating) {
                    System.out.printf("  %d blocks compiled, %d regions (%d failed)%n", translating.blocksCompiled,
                            translating.regionsCompiled, translating.regionFailures);
                }
            }
        }
    }

    /** The ELF's PT_LOAD segments at their addresses (zero-filled past the file's part). */
    private static void loadSegments(TestMachine m, ByteBuffer file) {
        int phoff = file.getInt(0x1c), phentsize = file.getShort(0x2a) & 0xffff, phnum = file.getShort(0x2c) & 0xffff;
        for (int i = 0; i < phnum; i++) {
            int at = phoff + i * phentsize;
            if (file.getInt(at) != 1) {
                continue;
            }
            int offset = file.getInt(at + 4), vaddr = file.getInt(at + 8), filesz = file.getInt(at + 16),
                    memsz = file.getInt(at + 20);
            for (int k = 0; k < memsz; k++) {
                int value = k < filesz ? file.get(offset + k) & 0xff : 0;
                m.load(vaddr - PROGRAM_LINEAR + PROGRAM_PHYSICAL, value);
                vaddr++;
            }
        }
    }
}
