/*
 * forkexec: a process that forks a child which executes a tiny static program (true,
 * built here too) and waits for it, over and over: page-table copies, copy-on-write
 * faults, an exec's new address space, exits and wakeups.
 * Usage: forkexec [scale [program]]   (program: /bin/lb-true)
 */
#include "rt.h"

int bench_main(int argc, char **argv)
{
        u32 scale = bench_scale(argc, argv), sum = 0;
        char *program = argc > 2 ? argv[2] : "/bin/lb-true";
        char *child_argv[] = { program, 0 };
        char *child_envp[] = { 0 };
        bench_start();
        for (u32 round = 0; round < 300 * scale; round++) {
                int pid = sys_call3(NR_fork, 0, 0, 0);
                if (pid == 0) {
                        sys_call3(NR_execve, (u32)program, (u32)child_argv, (u32)child_envp);
                        sys_exit(127);
                }
                if (pid < 0)
                        bench_fail("fork failed");
                int status = 0;
                __asm__ __volatile__("int $0x80" : "=a"(pid)
                                     : "a"(NR_wait4), "b"(pid), "c"(&status), "d"(0), "S"(0) : "memory");
                if (pid < 0 || status != 0)
                        bench_fail("the child did not exit 0");
                sum += 1;
        }
        bench_report("forkexec", sum);
        return 0;
}
