/*
 * syscheck: a static i386 Linux program that checks the system calls a small program
 * needs, and prints one TAP line per check. It runs natively too, and must print the
 * same there: that is how we know the test kernel answers as Linux does.
 *
 * It checks its arguments, environment and auxiliary vector as the kernel laid them
 * out, getpid, brk (the heap grows, is zero, shrinks), anonymous mmap2 and the old
 * mmap (zeroed, writable, distinct), munmap, time against gettimeofday, uname, an
 * unknown system call (-ENOSYS), a bad pointer (-EFAULT), and read(0): it echoes the
 * first line of standard input. Exit status: the number of failed checks.
 * Usage: syscheck [ARG...]
 */
typedef unsigned int u32;

static int syscall3(u32 nr, u32 a, u32 b, u32 c)
{
        int ret;
        __asm__ __volatile__("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
        return ret;
}

static int syscall6(u32 nr, u32 a, u32 b, u32 c, u32 d, u32 e, u32 f)
{
        int ret;
        /* ebp is the sixth argument; gcc may be using it, so save it around the call. */
        u32 args[2] = { f, 0 };
        __asm__ __volatile__("pushl %%ebp\n\t"
                             "movl (%7), %%ebp\n\t"
                             "int $0x80\n\t"
                             "popl %%ebp"
                             : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e), "r"(args)
                             : "memory");
        return ret;
}

#define NR_exit 1
#define NR_read 3
#define NR_write 4
#define NR_time 13
#define NR_getpid 20
#define NR_brk 45
#define NR_gettimeofday 78
#define NR_old_mmap 90
#define NR_munmap 91
#define NR_uname 122
#define NR_mmap2 192
#define NR_exit_group 252
#define NR_unknown 17           /* "break", never implemented by Linux */
#define ENOSYS 38
#define EFAULT 14
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_PRIVATE 2
#define MAP_ANONYMOUS 0x20
#define AT_PAGESZ 6
#define AT_NULL 0

static u32 length(const char *s)
{
        u32 n = 0;
        while (s[n])
                n++;
        return n;
}

static void put(const char *s)
{
        syscall3(NR_write, 1, (u32)s, length(s));
}

static void put_u32(u32 v)
{
        char digits[11];
        int i = 10;
        digits[10] = 0;
        do {
                digits[--i] = '0' + v % 10;
                v /= 10;
        } while (v);
        put(digits + i);
}

static int same(const char *a, const char *b)
{
        while (*a && *a == *b)
                a++, b++;
        return *a == *b;
}

static int starts(const char *s, const char *prefix)
{
        while (*prefix && *s == *prefix)
                s++, prefix++;
        return !*prefix;
}

static u32 tests, failures;

static void check(int ok, const char *name)
{
        tests++;
        if (!ok) {
                failures++;
                put("not ");
        }
        put("ok ");
        put_u32(tests);
        put(" - ");
        put(name);
        put("\n");
}

static int all_zero(const unsigned char *p, u32 n)
{
        for (u32 i = 0; i < n; i++)
                if (p[i])
                        return 0;
        return 1;
}

static char input[256];
static u32 bss_words[1024];

void program_main(u32 *stack)
{
        u32 argc = stack[0];
        char **argv = (char **)(stack + 1);
        char **envp = argv + argc + 1;
        u32 envc = 0;
        while (envp[envc])
                envc++;
        u32 *auxv = (u32 *)(envp + envc + 1);

        put("syscheck: argc ");
        put_u32(argc);
        for (u32 i = 1; i < argc; i++) {
                put(" [");
                put(argv[i]);
                put("]");
        }
        put("\n");
        check(argv[argc] == 0, "argv ends in NULL");
        u32 page_size = 0;
        for (u32 *a = auxv; a[0] != AT_NULL; a += 2)
                if (a[0] == AT_PAGESZ)
                        page_size = a[1];
        check(page_size == 4096, "auxv says AT_PAGESZ 4096");
        check(all_zero((unsigned char *)bss_words, sizeof(bss_words)), "bss is zero");
        check(((u32)stack & 15) == 0, "the initial stack is 16-byte aligned");

        int pid = syscall3(NR_getpid, 0, 0, 0);
        check(pid > 0, "getpid is positive");

        u32 start = syscall3(NR_brk, 0, 0, 0);
        u32 grown = syscall3(NR_brk, start + 3 * 4096 + 100, 0, 0);
        int heap_ok = grown == start + 3 * 4096 + 100;
        if (heap_ok) {
                unsigned char *heap = (unsigned char *)start;
                heap_ok = all_zero(heap, 3 * 4096 + 100);
                for (u32 i = 0; i < 3 * 4096 + 100; i += 512)
                        heap[i] = (unsigned char)i;
        }
        check(heap_ok, "brk grows the heap with zeroed, writable memory");
        check((u32)syscall3(NR_brk, start + 4096, 0, 0) == start + 4096
              && (u32)syscall3(NR_brk, 0, 0, 0) == start + 4096, "brk shrinks the heap");

        u32 a = syscall6(NR_mmap2, 0, 5 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        u32 b = syscall6(NR_mmap2, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        int mmap_ok = a < 0xfffff000 && b < 0xfffff000 && (a & 4095) == 0 && (b >= a + 5 * 4096 || b + 4096 <= a);
        if (mmap_ok) {
                mmap_ok = all_zero((unsigned char *)a, 5 * 4096) && all_zero((unsigned char *)b, 4096);
                for (u32 i = 0; i < 5 * 4096; i += 4)
                        ((u32 *)a)[i / 4] = i;
                ((u32 *)b)[0] = 0xfeed;
                for (u32 i = 0; i < 5 * 4096; i += 4)
                        mmap_ok &= ((u32 *)a)[i / 4] == i;
                mmap_ok &= ((u32 *)b)[0] == 0xfeed;
        }
        check(mmap_ok, "mmap2 gives distinct zeroed writable pages");

        u32 old_args[6] = { 0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0 };
        u32 c = syscall3(NR_old_mmap, (u32)old_args, 0, 0);
        int old_ok = c < 0xfffff000 && all_zero((unsigned char *)c, 2 * 4096);
        if (old_ok)
                ((u32 *)c)[1023] = 7;
        check(old_ok, "old mmap gives zeroed writable pages");

        check(syscall3(NR_munmap, a + 4096, 2 * 4096, 0) == 0 && ((u32 *)a)[0] == 0
              && ((u32 *)(a + 3 * 4096))[0] == 3 * 4096, "munmap of the middle keeps both ends");
        u32 again = syscall6(NR_mmap2, a + 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | 0x10, -1, 0);
        check(again == a + 4096 && ((u32 *)again)[0] == 0, "MAP_FIXED into the hole gives a fresh zero page");
        check(syscall3(NR_munmap, a + 1, 4096, 0) == -22, "munmap of an unaligned address is -EINVAL");

        u32 now = 0;
        u32 t = syscall3(NR_time, (u32)&now, 0, 0);
        u32 tv[2] = { 0, 0 };
        int g = syscall3(NR_gettimeofday, (u32)tv, 0, 0);
        check(t == now && t > 1000000000 && g == 0 && tv[0] - t <= 2 && tv[1] < 1000000,
              "time and gettimeofday agree");

        char uts[6][65];
        check(syscall3(NR_uname, (u32)uts, 0, 0) == 0 && same(uts[0], "Linux") && uts[2][0] >= '2'
              && starts(uts[4], "i") | starts(uts[4], "x86"), "uname says Linux");

        check(syscall3(NR_unknown, 0, 0, 0) == -ENOSYS, "an unknown system call is -ENOSYS");
        check(syscall3(NR_write, 1, 0x10, 4) == -EFAULT, "write from a bad pointer is -EFAULT");
        check(syscall3(NR_write, 9, (u32)"x", 1) == -9, "write to a closed descriptor is -EBADF");

        u32 got = 0;
        int n;
        while (got < sizeof(input) - 1 && (n = syscall3(NR_read, 0, (u32)input + got, sizeof(input) - 1 - got)) > 0)
                got += n;
        input[got] = 0;
        for (u32 i = 0; i < got; i++)
                if (input[i] == '\n')
                        input[i] = 0;
        put("syscheck: stdin: ");
        put(got ? input : "(empty)");
        put("\n");

        put("1..");
        put_u32(tests);
        put("\n");
        syscall3(NR_exit_group, failures, 0, 0);
        syscall3(NR_exit, failures, 0, 0);
}
