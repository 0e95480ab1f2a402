/*
 * The workload as a static i386 Linux program with no C library: it talks to the
 * kernel with int $0x80 directly (write, exit), so the very same file runs natively,
 * under qemu-i386, and on any guest kernel that offers those two system calls.
 * Usage: bench-linux [rounds]; prints "workload <rounds> 0x<checksum>".
 */
#include "workload.h"

static int sys_write(int fd, const char *buf, u32 len)
{
        int ret;
        __asm__ __volatile__("int $0x80" : "=a"(ret) : "a"(4), "b"(fd), "c"(buf), "d"(len) : "memory");
        return ret;
}

static void sys_exit(int code)
{
        __asm__ __volatile__("int $0x80" : : "a"(1), "b"(code));
        for (;;)
                ;
}

static char *put_decimal(char *p, u32 v)
{
        char digits[10];
        int n = 0;
        do {
                digits[n++] = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        while (n)
                *p++ = digits[--n];
        return p;
}

static char *put_hex(char *p, u32 v)
{
        *p++ = '0';
        *p++ = 'x';
        for (int i = 28; i >= 0; i -= 4)
                *p++ = "0123456789abcdef"[(v >> i) & 0xf];
        return p;
}

static u32 parse(const char *s)
{
        u32 n = 0;
        while (*s >= '0' && *s <= '9')
                n = n * 10 + (u32)(*s++ - '0');
        return n;
}

/* The kernel starts us with argc, argv[] on the stack. */
void linux_main(u32 *stack)
{
        u32 argc = stack[0];
        const char **argv = (const char **)(stack + 1);
        u32 rounds = argc > 1 ? parse(argv[1]) : 20;
        u32 sum = workload(rounds);
        char line[64], *p = line;
        const char *label = "workload ";
        while (*label)
                *p++ = *label++;
        p = put_decimal(p, rounds);
        *p++ = ' ';
        p = put_hex(p, sum);
        *p++ = '\n';
        sys_write(1, line, (u32)(p - line));
        sys_exit(0);
}
