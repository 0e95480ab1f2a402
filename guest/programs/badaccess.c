/*
 * badaccess: a static i386 Linux program that makes one real bad memory access from
 * ring 3, so that a test can see the kernel turn the page fault into SIGSEGV with the
 * faulting address and the right cause. It catches the signal (SA_SIGINFO), prints
 * one line and exits 0; without a handler ("unhandled") Linux kills it.
 *
 * Usage: badaccess null       write to address 0x10 (nothing mapped: SEGV_MAPERR, 1)
 *        badaccess kernel     read the kernel's page at 0xc0100000 (mapped, but for
 *                             the supervisor only; Linux reports any access above
 *                             TASK_SIZE as SEGV_MAPERR, 1)
 *        badaccess readonly   write to its own code (mapped read-only: SEGV_ACCERR, 2)
 *        badaccess unhandled  the null write with no handler (the shell sees 139)
 * Before the bad access it reads and writes its own stack, which must not fault.
 * Prints "badaccess: SIGSEGV at 0x00000010 code 1", or "badaccess: no fault" if the
 * access went through, which is the bug this program exists to catch.
 */
typedef unsigned int u32;

#define NR_exit 1
#define NR_write 4
#define NR_rt_sigaction 174
#define SIGSEGV 11
#define SA_SIGINFO 4
#define SEGV_MAPERR 1
#define SEGV_ACCERR 2

/* The kernel's i386 struct sigaction for rt_sigaction: handler, flags, restorer, mask. */
struct kernel_sigaction {
        void (*handler)(int, void *, void *);
        u32 flags;
        void (*restorer)(void);
        u32 mask[2];
};

static int syscall3(u32 nr, u32 a, u32 b, u32 c)
{
        int ret;
        __asm__ __volatile__("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
        return ret;
}

static int syscall4(u32 nr, u32 a, u32 b, u32 c, u32 d)
{
        int ret;
        __asm__ __volatile__("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d) : "memory");
        return ret;
}

static void put(const char *s)
{
        u32 n = 0;
        while (s[n])
                n++;
        syscall3(NR_write, 1, (u32)s, n);
}

static void put_hex(u32 v)
{
        char text[11] = "0x";
        for (int i = 0; i < 8; i++)
                text[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xf];
        text[10] = 0;
        put(text);
}

static void __attribute__((noreturn)) leave(int status)
{
        syscall3(NR_exit, status, 0, 0);
        __builtin_unreachable();
}

/* siginfo on i386: si_signo, si_errno, si_code, then si_addr for SIGSEGV. */
static void on_segv(int sig, void *info, void *context)
{
        const u32 *fields = info;
        (void)context;
        put(sig == SIGSEGV ? "badaccess: SIGSEGV at " : "badaccess: another signal at ");
        put_hex(fields[3]);
        put(" code ");
        put(fields[2] == SEGV_MAPERR ? "1" : fields[2] == SEGV_ACCERR ? "2" : "other");
        put("\n");
        leave(0);
}

static int same(const char *a, const char *b)
{
        while (*a && *a == *b)
                a++, b++;
        return *a == *b;
}

/* A pointer to a fixed address, hidden from gcc, which would otherwise refuse it. */
static volatile u32 *at(u32 address)
{
        __asm__("" : "+r"(address));
        return (volatile u32 *)address;
}

void program_main(u32 *stack)
{
        u32 argc = stack[0];
        const char *what = argc > 1 ? (const char *)stack[2] : "";
        volatile u32 own = 0x12345678;

        own ^= 0xffffffff;
        if (own != 0xedcba987) {
                put("badaccess: its own stack is wrong\n");
                leave(2);
        }
        if (!same(what, "unhandled")) {
                struct kernel_sigaction action = { on_segv, SA_SIGINFO, 0, { 0, 0 } };
                if (syscall4(NR_rt_sigaction, SIGSEGV, (u32)&action, 0, 8) != 0) {
                        put("badaccess: rt_sigaction failed\n");
                        leave(2);
                }
        }
        if (same(what, "null") || same(what, "unhandled")) {
                *at(0x10) = 1;
        } else if (same(what, "kernel")) {
                (void)*at(0xc0100000);
        } else if (same(what, "readonly")) {
                *at((u32)&program_main) = 0;
        } else {
                put("usage: badaccess null|kernel|readonly|unhandled\n");
                leave(2);
        }
        put("badaccess: no fault\n");
        leave(1);
}
