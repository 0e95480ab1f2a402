/*
 * The pause probe (`mode=pauseprobe`): the guest times its own pauses, so the host
 * can swap components under it and learn how long the guest stood still, as the
 * guest saw it.
 *
 * Our only clock is the wall clock the host writes into lguest_data each time it
 * gets control (the TSC here counts instructions, not time: tsc_khz is 0). So the
 * probe loops: a little work, a FLUSH_ASYNC hypercall (the cheapest trip to the host,
 * which refreshes the clock), read the clock. The gap between two consecutive reads
 * is the time from one entry into the guest to the next: our own few microseconds
 * of work plus whatever the host did in between. Any time the host spends not
 * running us (a swap holding our thread, a lock, a stop-the-world pause of the JVM,
 * another process on our core) shows up as a long gap.
 *
 * Every gap longer than the threshold is reported, with the wall clock at its end
 * (the same clock as the host's java.time.Instant), so the host can tell whether it
 * fell in a swap or not:
 *
 *   # pauseprobe: gaps over T us, W work rounds between clock reads
 *   # pauseprobe ready
 *   # pause S N G         a gap of G us that ended at S seconds N nanoseconds
 *   # pauseprobe done: R reads, longest gap G us   (only with pause-seconds=)
 *
 *   pause-threshold-us=T  report gaps over T us (default 1000)
 *   pause-work=W          rounds of integer mixing between reads (default 100,
 *                         some microseconds: the guest computes, it does not only
 *                         call the host)
 *   pause-seconds=S       stop after S seconds and power off (default: run until
 *                         the host stops us)
 *
 * Printing a report takes a trip to the Launcher per 16 characters; the clock is
 * read afresh after it, so a report is not itself counted as a pause.
 */
#include "kernel.h"

#define DEFAULT_THRESHOLD_US    1000
#define DEFAULT_WORK_ROUNDS     100

/* The wall clock as the host last wrote it, in nanoseconds since 1970. */
static s64 wall_nanos(void)
{
        return (s64)lguest_data.time_sec * 1000000000 + lguest_data.time_nsec;
}

static s64 refreshed_wall_nanos(void)
{
        hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        return wall_nanos();
}

static u32 micros(s64 nanos)
{
        u64 us = divide_u64((u64)nanos, 1000);
        return us > 0xFFFFFFFFu ? 0xFFFFFFFFu : (u32)us;
}

/* Busy work the compiler cannot drop: the result feeds the next round. */
static u32 mix_rounds(u32 x, u32 rounds)
{
        for (u32 i = 0; i < rounds; i++) {
                x ^= x >> 16;
                x *= 0x7FEB352Du;
                x ^= x >> 15;
                x += i;
        }
        return x;
}

static volatile u32 work_sink;

void pauseprobe_main(const char *command_line)
{
        u32 threshold_us = DEFAULT_THRESHOLD_US, work = DEFAULT_WORK_ROUNDS, seconds = 0;
        arg_u32(command_line, "pause-threshold-us=", &threshold_us);
        arg_u32(command_line, "pause-work=", &work);
        int bounded = arg_u32(command_line, "pause-seconds=", &seconds);

        print("# pauseprobe: gaps over ");
        print_u32(threshold_us);
        print(" us, ");
        print_u32(work);
        print(" work rounds between clock reads\n");
        print("# pauseprobe ready\n");

        s64 threshold = (s64)threshold_us * 1000;
        s64 last = refreshed_wall_nanos();
        s64 end = last + (s64)seconds * 1000000000;
        s64 longest = 0;
        u32 reads = 0, x = 1;
        for (;;) {
                x = mix_rounds(x, work);
                s64 now = refreshed_wall_nanos();
                s64 gap = now - last;
                reads++;
                if (gap > longest)
                        longest = gap;
                if (gap > threshold) {
                        print("# pause ");
                        print_u32((u32)divide_u64((u64)now, 1000000000));
                        print(" ");
                        print_u32((u32)((u64)now - divide_u64((u64)now, 1000000000) * 1000000000));
                        print(" ");
                        print_u32(micros(gap));
                        print("\n");
                        now = refreshed_wall_nanos();
                }
                last = now;
                if (bounded && now >= end)
                        break;
        }
        work_sink = x;
        print("# pauseprobe done: ");
        print_u32(reads);
        print(" reads, longest gap ");
        print_u32(micros(longest));
        print(" us\n");
}
