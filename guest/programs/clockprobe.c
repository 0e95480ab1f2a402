/*
 * clockprobe: the Linux guest's pause probe, the counterpart of the test kernel's
 * mode=pauseprobe for a guest that is real Linux. It reads the wall clock
 * (clock_gettime, CLOCK_REALTIME) in a loop and prints every jump between two
 * reads longer than the threshold as "# pause S N G": G microseconds that ended at S
 * seconds N nanoseconds of the guest's clock, the test kernel's format.
 *
 * An lguest guest's clock is the time the host writes into lguest_data when it
 * enters the guest (2.6.24 without a TSC), so a loop of system calls alone, which
 * never leave the guest, would see it move only at timer ticks. Each round therefore
 * drops its page (madvise MADV_DONTNEED) and touches it again: the page fault goes
 * to the host first, so the clock is fresh at every round.
 *
 * The guest's clock is the host's plus a constant (Linux starts it from whole
 * seconds), so every MARK_MS it also prints "# clock S N": the host notes when each
 * such line arrives and takes the smallest difference as that constant.
 *
 * Usage: clockprobe THRESHOLD_US
 */
#include "linux.h"

#define CLOCK_REALTIME 0
#define MADV_DONTNEED 4
#define MARK_MS 50

struct timespec32 {
        u32 sec;
        u32 nsec;
};

static char page[4096] __attribute__((aligned(4096)));

/* Microseconds from a to b, in 32 bits (no 64-bit division without a C library). */
static int micros_between(const struct timespec32 *a, const struct timespec32 *b)
{
        return (int)((b->sec - a->sec) * 1000000u + b->nsec / 1000 - a->nsec / 1000);
}

/* "# WHAT S N[ G]\n" in one write, so that lines never interleave with another program's. */
static void report(const char *what, const struct timespec32 *t, int gap_us)
{
        char line[80];
        char *p = line;
        for (const char *s = "# "; *s; s++)
                *p++ = *s;
        for (const char *s = what; *s; s++)
                *p++ = *s;
        *p++ = ' ';
        p = decimal(p, t->sec);
        *p++ = ' ';
        p = decimal(p, t->nsec);
        if (gap_us >= 0) {
                *p++ = ' ';
                p = decimal(p, (u32)gap_us);
        }
        *p++ = '\n';
        syscall3(NR_write, 1, (u32)line, (u32)(p - line));
}

void program_main(u32 *stack)
{
        u32 argc = stack[0];
        if (argc < 2) {
                put("usage: clockprobe THRESHOLD_US\n");
                leave(2);
        }
        int threshold_us = (int)number((const char *)stack[2]);
        struct timespec32 last, mark, t;
        syscall3(NR_clock_gettime, CLOCK_REALTIME, (u32)&last, 0);
        mark = last;
        put("# clockprobe ready\n");
        for (;;) {
                syscall3(NR_madvise, (u32)page, sizeof(page), MADV_DONTNEED);
                *(volatile char *)page = 1;
                syscall3(NR_clock_gettime, CLOCK_REALTIME, (u32)&t, 0);
                int gap = micros_between(&last, &t);
                if (gap > threshold_us)
                        report("pause", &t, gap);
                if (micros_between(&mark, &t) >= MARK_MS * 1000) {
                        report("clock", &t, -1);
                        mark = t;
                }
                last = t;
        }
}
