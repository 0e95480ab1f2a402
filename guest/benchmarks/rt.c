/* The benchmark programs' runtime (see rt.h): system calls, the clock, the report line. */
#include "rt.h"

int sys_call3(u32 nr, u32 a, u32 b, u32 c)
{
        int ret;
        __asm__ __volatile__("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
        return ret;
}

void sys_exit(int code)
{
        for (;;)
                sys_call3(NR_exit, (u32)code, 0, 0);
}

static u32 length(const char *s)
{
        u32 n = 0;
        while (s[n])
                n++;
        return n;
}

static char *put_text(char *p, const char *s)
{
        while (*s)
                *p++ = *s++;
        return p;
}

static char *put_decimal(char *p, u64 v)
{
        char digits[20];
        int n = 0;
        do {
                digits[n++] = (char)('0' + (u32)(v % 10));
                v /= 10;
        } while (v);
        while (n)
                *p++ = digits[--n];
        return p;
}

static char *put_hex(char *p, u32 v)
{
        p = put_text(p, "0x");
        for (int i = 28; i >= 0; i -= 4)
                *p++ = "0123456789abcdef"[(v >> i) & 0xf];
        return p;
}

u32 bench_scale(int argc, char **argv)
{
        u32 n = 0;
        if (argc < 2)
                return 1;
        for (const char *s = argv[1]; *s >= '0' && *s <= '9'; s++)
                n = n * 10 + (u32)(*s - '0');
        return n ? n : 1;
}

u64 bench_microseconds(void)
{
        struct { int seconds, microseconds; } now;
        if (sys_call3(NR_gettimeofday, (u32)&now, 0, 0) != 0)
                bench_fail("gettimeofday failed");
        return (u64)(u32)now.seconds * 1000000u + (u32)now.microseconds;
}

static u64 started;

void bench_start(void)
{
        started = bench_microseconds();
}

/* One write: /dev/kmsg takes each write as one kernel message. */
void bench_report(const char *name, u32 checksum)
{
        u64 elapsed = bench_microseconds() - started;
        char line[96], *p = line;
        p = put_text(p, "LGUEST-BENCH ");
        p = put_text(p, name);
        *p++ = ' ';
        p = put_decimal(p, elapsed);
        *p++ = ' ';
        p = put_hex(p, checksum);
        *p++ = '\n';
        sys_call3(NR_write, 1, (u32)line, (u32)(p - line));
}

void bench_fail(const char *what)
{
        char line[96], *p = line;
        p = put_text(p, "LGUEST-BENCH failed: ");
        if (length(what) < 60)
                p = put_text(p, what);
        *p++ = '\n';
        sys_call3(NR_write, 1, (u32)line, (u32)(p - line));
        sys_exit(1);
}

/* Called by start.S with the initial stack: argc, then argv[]. */
void program_main(u32 *stack)
{
        sys_exit(bench_main((int)stack[0], (char **)(stack + 1)));
}
