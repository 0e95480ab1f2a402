/*
 * What the newer test programs share to talk to Linux with no C library: system
 * calls through int $0x80 (i386's numbers), writing text and decimal numbers,
 * reading a decimal argument, and exiting.
 */
#ifndef PROGRAMS_LINUX_H
#define PROGRAMS_LINUX_H

typedef unsigned int u32;

#define NR_exit 1
#define NR_write 4
#define NR_madvise 219
#define NR_clock_gettime 265

static inline int syscall3(u32 nr, u32 a, u32 b, u32 c)
{
        int ret;
        __asm__ __volatile__("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
        return ret;
}

static __attribute__((unused)) void put(const char *s)
{
        u32 n = 0;
        while (s[n])
                n++;
        syscall3(NR_write, 1, (u32)s, n);
}

/* Appends the decimal digits of v at *end, and returns where they end. */
static __attribute__((unused)) char *decimal(char *end, u32 v)
{
        char digits[20];
        int n = 0;
        do {
                digits[n++] = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        while (n)
                *end++ = digits[--n];
        return end;
}

/* The decimal number at the start of s (0 if none). */
static __attribute__((unused)) u32 number(const char *s)
{
        u32 n = 0;
        while (s && *s >= '0' && *s <= '9')
                n = n * 10 + (u32)(*s++ - '0');
        return n;
}

static void __attribute__((noreturn)) leave(int status)
{
        syscall3(NR_exit, status, 0, 0);
        __builtin_unreachable();
}

#endif
