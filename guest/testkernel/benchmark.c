/*
 * Benchmark mode (`mode=benchmark`): how fast the platform does the things a lguest
 * guest kernel leans on, measured from inside the guest and printed as rates:
 *
 *   hypercalls          FLUSH_ASYNC, the cheapest trip to the host and back
 *   system calls        getpid from ring 3 via int $0x80, the direct trap that
 *                       should never leave the guest
 *   page faults         first touches of demand-zero user pages: the fault goes to
 *                       the host, is reflected to us, we map a page with SET_PTE,
 *                       and the host fills in its shadow page table
 *   timer interrupts    SET_CLOCKEVENT re-armed from the handler each tick
 *   context switches    two ring-3 processes calling sched_yield: a trap frame
 *                       swap and NEW_PGTABLE each time
 *   virtio block        MB/s written and read in 64 KiB requests (with --block)
 *
 * Time comes from the TSC when the host says how fast it runs (tsc_khz), else from
 * lguest_data.time, which the host refreshes each time it gets control (so we give
 * it control before reading it). `bench-scale=N` multiplies the counts (default 1).
 */
#include "kernel.h"
#include "process.h"
#include "virtio.h"

static int use_tsc;

static u64 read_tsc(void)
{
        u32 low, high;
        __asm__ __volatile__("rdtsc" : "=a"(low), "=d"(high));
        return (u64)high << 32 | low;
}

/* Microseconds on whichever clock we trust. */
static u64 now_us(void)
{
        if (use_tsc)
                return divide_u64(read_tsc() * 1000, lguest_data.tsc_khz);
        hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        return divide_u64(host_nanos(), 1000);
}

static void report(const char *what, u32 count, u64 us, const char *unit)
{
        if (us == 0)
                us = 1;
        print("benchmark: ");
        print(what);
        print(" ");
        print_u32(divide_u64((u64)count * 1000000, us));
        print(" ");
        print(unit);
        print(" per second (");
        print_u32(count);
        print(" in ");
        print_u32(us);
        print(" us)\n");
}

static void bench_hypercalls(u32 count)
{
        u64 start = now_us();
        for (u32 i = 0; i < count; i++)
                hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        report("hypercalls", count, now_us() - start, "hypercalls");
}

static u64 run_builtin(const char *entry, u32 ebx, u32 zero_area_pages)
{
        struct process *p = process_from_builtin("benchmark", entry, ebx);
        if (!p)
                panic("benchmark: no process");
        if (zero_area_pages)
                process_add_zero_area(p, BENCHMARK_TOUCH_AREA, zero_area_pages * PAGE_SIZE);
        u64 start = now_us();
        process_run(&p, 1);
        u64 took = now_us() - start;
        process_destroy(p);
        return took;
}

static void bench_system_calls(u32 count)
{
        report("system calls", count, run_builtin(user_getpid_loop, count, 0), "getpid calls");
}

static void bench_page_faults(u32 count)
{
        u32 before = process_faults;
        u64 us = run_builtin(user_touch_pages, count, count);
        /* The loop's own code and stack pages fault in too: count what happened. */
        report("page faults", process_faults - before, us, "demand-zero faults");
}

static void bench_context_switches(u32 count)
{
        struct process *pair[2] = {
                process_from_builtin("yield-a", user_yield_loop, count),
                process_from_builtin("yield-b", user_yield_loop, count),
        };
        if (!pair[0] || !pair[1])
                panic("benchmark: no processes");
        u32 before = context_switches;
        u64 start = now_us();
        process_run(pair, 2);
        u64 us = now_us() - start;
        process_destroy(pair[0]);
        process_destroy(pair[1]);
        report("context switches", context_switches - before, us, "ring-3 switches");
}

static void bench_timer(u32 count, u32 interval_ns)
{
        u32 before = timer_ticks;
        timer_rearm_nanos = interval_ns;
        lguest_data.blocked_interrupts &= ~1u;
        u64 start = now_us();
        hcall(LHCALL_SET_CLOCKEVENT, interval_ns, 0, 0);
        irq_enable();
        /* Spin without hypercalls: the ticks have to interrupt us. */
        while (timer_ticks - before < count)
                __asm__ __volatile__("pause");
        irq_disable();
        u64 us = now_us() - start;
        timer_rearm_nanos = 0;
        hcall(LHCALL_SET_CLOCKEVENT, 0, 0, 0);
        lguest_data.blocked_interrupts |= 1;
        print("benchmark: timer re-armed every ");
        print_u32(interval_ns);
        print(" ns\n");
        report("timer interrupts", timer_ticks - before, us, "ticks");
}

#define BLOCK_REQUEST_BYTES     (64 * 1024)

static void bench_block(u32 megabytes)
{
        if (!virtio_block.descriptor) {
                print("benchmark: virtio block skipped: no block device (--block=FILE)\n");
                return;
        }
        u32 requests = megabytes * 1024 * 1024 / BLOCK_REQUEST_BYTES;
        u32 sectors_per_request = BLOCK_REQUEST_BYTES / SECTOR_SIZE;
        if ((u64)requests * sectors_per_request > virtio_block.capacity)
                requests = virtio_block.capacity / sectors_per_request;
        if (!requests) {
                print("benchmark: virtio block skipped: the disk is smaller than 64 KiB\n");
                return;
        }
        u8 *buffer = va(pages_alloc_contiguous(BLOCK_REQUEST_BYTES / PAGE_SIZE));
        for (u32 i = 0; i < BLOCK_REQUEST_BYTES; i++)
                buffer[i] = (u8)(i * 31);
        u64 start = now_us();
        for (u32 r = 0; r < requests; r++)
                if (block_request(VIRTIO_BLK_T_OUT, (u64)r * sectors_per_request, buffer, BLOCK_REQUEST_BYTES))
                        panic("benchmark: a block write failed");
        if (block_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0))
                panic("benchmark: the flush failed");
        u64 write_us = now_us() - start;
        start = now_us();
        for (u32 r = 0; r < requests; r++)
                if (block_request(VIRTIO_BLK_T_IN, (u64)r * sectors_per_request, buffer, BLOCK_REQUEST_BYTES))
                        panic("benchmark: a block read failed");
        u64 read_us = now_us() - start;
        u32 kib = requests * (BLOCK_REQUEST_BYTES / 1024);
        report("virtio block write+flush", kib, write_us, "KiB");
        report("virtio block read", kib, read_us, "KiB");
}

/* The benchmark's "bench-scale=N"; absent, zero or not a number: 1. */
static u32 scale_from(const char *line)
{
        u32 scale = 0;
        return arg_u32(line, "bench-scale=", &scale) && scale ? scale : 1;
}

void benchmark_main(const char *command_line)
{
        u32 scale = scale_from(command_line);
        use_tsc = lguest_data.tsc_khz != 0;
        print("benchmark: clock: ");
        if (use_tsc) {
                print("TSC at ");
                print_u32(lguest_data.tsc_khz);
                print(" kHz\n");
        } else {
                print("lguest_data.time (tsc_khz is 0)\n");
        }
        bench_hypercalls(20000 * scale);
        bench_system_calls(20000 * scale);
        bench_page_faults(2000 * scale);
        bench_context_switches(5000 * scale);
        bench_timer(200 * scale, 10000);
        bench_block(4 * scale);
}
