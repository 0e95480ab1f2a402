/*
 * The little runtime of the Linux benchmark programs: no C library, only int $0x80.
 * Debian's static glibc cannot be used: its start-up reads the AT_RANDOM auxiliary
 * vector entry, which Linux only gives since 2.6.29, and on the 2.6.24 guest the
 * program dies with a null pointer before main (on lguest and on QEMU alike). The
 * same files run natively, under qemu-i386 and in any i386 Linux from 2.6 on.
 *
 * A program is bench_main(argc, argv); it times its work with bench_start() and
 * bench_report(), which prints one line the benchmark script looks for:
 *   LGUEST-BENCH <name> <microseconds> <checksum>
 * The checksum is the work's answer, the same on every machine that runs it right.
 */
#ifndef BENCH_RT_H
#define BENCH_RT_H

typedef unsigned int u32;
typedef unsigned long long u64;

int sys_call3(u32 nr, u32 a, u32 b, u32 c);
#define NR_exit 1
#define NR_fork 2
#define NR_read 3
#define NR_write 4
#define NR_close 6
#define NR_execve 11
#define NR_getpid 20
#define NR_pipe 42
#define NR_gettimeofday 78
#define NR_wait4 114

void sys_exit(int code) __attribute__((noreturn));

/* The scale of a run: argv[1] as a number (default 1); every program multiplies its
 * rounds by it, so the script can make all of them longer or shorter at once. */
u32 bench_scale(int argc, char **argv);

/* Microseconds on the guest's own clock (gettimeofday). */
u64 bench_microseconds(void);

void bench_start(void);
void bench_report(const char *name, u32 checksum);

/* Prints a message and exits with status 1. */
void bench_fail(const char *what) __attribute__((noreturn));

int bench_main(int argc, char **argv);

#endif
