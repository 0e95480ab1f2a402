/*
 * syscalls: system calls that do almost nothing, so the cost is the trip into the
 * kernel and back (on lguest: the trap to the host, the switch, the guest kernel's
 * entry and iret): getpid, gettimeofday, and one byte written to a pipe and read back.
 */
#include "rt.h"

int bench_main(int argc, char **argv)
{
        u32 scale = bench_scale(argc, argv), sum = 0;
        int pipe_ends[2];
        if (sys_call3(NR_pipe, (u32)pipe_ends, 0, 0) != 0)
                bench_fail("pipe failed");
        bench_start();
        for (u32 round = 0; round < 40000 * scale; round++) {
                sum += sys_call3(NR_getpid, 0, 0, 0) > 0;
                struct { int seconds, microseconds; } now;
                sys_call3(NR_gettimeofday, (u32)&now, 0, 0);
                unsigned char byte = (unsigned char)round;
                if (sys_call3(NR_write, (u32)pipe_ends[1], (u32)&byte, 1) != 1
                    || sys_call3(NR_read, (u32)pipe_ends[0], (u32)&byte, 1) != 1)
                        bench_fail("the pipe lost a byte");
                sum += byte;
        }
        bench_report("syscalls", sum);
        return 0;
}
