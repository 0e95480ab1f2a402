/*
 * Program mode's processes: static i386 Linux programs at ring 3, each with its own
 * page directory, served through Linux's int $0x80 system calls.
 *
 * An address space is a short list of areas (the ELF segments, the heap, the stack,
 * mmap'ed memory). Nothing is mapped up front: the first touch of a page faults, and
 * the fault handler finds the area, takes a fresh page, copies in the file bytes that
 * belong there (zeroes elsewhere, which is all bss and stack are) and maps it with
 * SET_PTE. That makes every page of a program a demand-paging round trip through the
 * host's shadow page tables, which is what we want to exercise.
 *
 * The kernel half of every directory is a copy of the kernel's (it never changes
 * after boot). Page tables for the user half are announced with SET_PMD when we add
 * them, and again when we take them away, so the host never keeps a shadow of a page
 * table that has gone back to the allocator.
 *
 * The kernel never touches user addresses directly: it walks the process's page
 * tables (faulting pages in as a fault would) and uses the kernel's map of RAM, so a
 * bad pointer from a program is -EFAULT, never a kernel fault.
 *
 * A process that is not running keeps its registers in `frame`: switching is copying
 * one frame out of the trap stack and another in, and loading the other directory.
 */
#include "process.h"
#include "initrd.h"
#include "virtio.h"

#define EPERM           1
#define EBADF           9
#define ENOMEM          12
#define EFAULT          14
#define EINVAL          22
#define ENOSYS          38

#define NR_exit         1
#define NR_read         3
#define NR_write        4
#define NR_time         13
#define NR_getpid       20
#define NR_brk          45
#define NR_gettimeofday 78
#define NR_old_mmap     90
#define NR_munmap       91
#define NR_uname        122
#define NR_sched_yield  158
#define NR_mmap2        192
#define NR_exit_group   252

#define PROT_WRITE      2
#define MAP_FIXED       0x10
#define MAP_ANONYMOUS   0x20

struct process *current_process;
volatile u32 process_faults, context_switches;
static u32 next_pid = 1;

/* The few processes that run together, and the one running now. */
#define MAX_RUNNING     4
static struct process *running[MAX_RUNNING];
static int running_count;

static struct process process_slots[MAX_RUNNING];

static u32 page_down(u32 a) { return a & PTE_FRAME; }
static u32 page_up(u32 a) { return (a + PAGE_SIZE - 1) & PTE_FRAME; }

static struct process *process_new(const char *name)
{
        for (int i = 0; i < MAX_RUNNING; i++) {
                struct process *p = &process_slots[i];
                if (!p->pgdir) {
                        memset(p, 0, sizeof(*p));
                        p->name = name;
                        p->pid = next_pid++;
                        p->pgdir = va(page_alloc());
                        /* The kernel half, as it is now and will stay. */
                        for (u32 i = PAGE_OFFSET >> 22; i < 1024; i++)
                                p->pgdir[i] = kernel_pgdir[i];
                        return p;
                }
        }
        return 0;
}

/* ---- areas ---- */

static struct area *find_area(struct process *p, u32 address)
{
        for (int i = 0; i < p->area_count; i++)
                if (address >= p->areas[i].start && address < p->areas[i].end)
                        return &p->areas[i];
        return 0;
}

static struct area *add_area(struct process *p, u32 start, u32 end, int writable)
{
        if (p->area_count == PROCESS_MAX_AREAS)
                return 0;
        struct area *a = &p->areas[p->area_count++];
        *a = (struct area){ .start = start, .end = end, .writable = writable, .accessible = 1 };
        return a;
}

int process_add_zero_area(struct process *p, u32 start, u32 size)
{
        return add_area(p, start, start + page_up(size), 1) ? 0 : -1;
}

static int overlaps_any(struct process *p, u32 start, u32 end)
{
        for (int i = 0; i < p->area_count; i++)
                if (start < p->areas[i].end && p->areas[i].start < end)
                        return 1;
        return 0;
}

/* ---- pages ---- */

static u32 *user_pte(struct process *p, u32 address, int create)
{
        u32 index = address >> 22;
        if (!(p->pgdir[index] & PTE_PRESENT)) {
                if (!create)
                        return 0;
                p->pgdir[index] = page_alloc() | PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED;
                hcall(LHCALL_SET_PMD, pa(p->pgdir), index, 0);
        }
        return (u32 *)va(p->pgdir[index] & PTE_FRAME) + ((address >> 12) & 1023);
}

/*
 * A page of a program's memory: the bytes of every file-backed area that reaches
 * into it (two segments may share a page), zeroes elsewhere. It is writable if any
 * of those areas is.
 */
static int fault_in(struct process *p, u32 address)
{
        u32 page = page_down(address);
        u32 frame = page_alloc();
        u8 *bytes = va(frame);
        int writable = 0;
        for (int i = 0; i < p->area_count; i++) {
                struct area *a = &p->areas[i];
                if (page >= a->end || page + PAGE_SIZE <= a->start || !a->accessible)
                        continue;
                writable |= a->writable;
                if (!a->file)
                        continue;
                u32 from = a->file_address > page ? a->file_address : page;
                u32 file_end = a->file_address + a->file_size;
                u32 to = file_end < page + PAGE_SIZE ? file_end : page + PAGE_SIZE;
                if (from < to)
                        memcpy(bytes + (from - page), a->file + (from - a->file_address), to - from);
        }
        u32 *pte = user_pte(p, page, 1);
        *pte = frame | PTE_PRESENT | PTE_USER | PTE_ACCESSED | (writable ? PTE_RW | PTE_DIRTY : 0);
        hcall(LHCALL_SET_PTE, pa(p->pgdir), page, *pte);
        process_faults++;
        return 1;
}

/* A user address as the kernel can reach it, faulting the page in if need be. */
static u8 *user_to_kernel(struct process *p, u32 address, int writing)
{
        if (address >= PAGE_OFFSET)
                return 0;
        struct area *a = find_area(p, address);
        if (!a || !a->accessible || (writing && !a->writable))
                return 0;
        u32 *pte = user_pte(p, address, 0);
        if (!pte || !(*pte & PTE_PRESENT)) {
                fault_in(p, address);
                pte = user_pte(p, address, 0);
        }
        if (writing && !(*pte & PTE_RW))
                return 0;
        return (u8 *)va(*pte & PTE_FRAME) + (address & (PAGE_SIZE - 1));
}

static int copy_user(struct process *p, void *kernel, u32 user, u32 len, int to_user)
{
        u8 *k = kernel;
        if (user + len < user || user + len > PAGE_OFFSET)
                return -EFAULT;
        while (len) {
                u8 *u = user_to_kernel(p, user, to_user);
                if (!u)
                        return -EFAULT;
                u32 n = PAGE_SIZE - (user & (PAGE_SIZE - 1));
                if (n > len)
                        n = len;
                if (to_user)
                        memcpy(u, k, n);
                else
                        memcpy(k, u, n);
                k += n;
                user += n;
                len -= n;
        }
        return 0;
}

static int copy_from_user(struct process *p, void *to, u32 from, u32 len) { return copy_user(p, to, from, len, 0); }
static int copy_to_user(struct process *p, u32 to, const void *from, u32 len) { return copy_user(p, (void *)from, to, len, 1); }

/* Drops the pages of [start, end) (the areas are the caller's business). */
static void unmap_range(struct process *p, u32 start, u32 end)
{
        for (u32 page = start; page < end; page += PAGE_SIZE) {
                u32 *pte = user_pte(p, page, 0);
                if (!pte) {
                        page = (page | 0x3fffff) - PAGE_SIZE + 1;   /* skip the empty table */
                        continue;
                }
                if (*pte & PTE_PRESENT) {
                        page_free(*pte & PTE_FRAME);
                        *pte = 0;
                        hcall(LHCALL_SET_PTE, pa(p->pgdir), page, 0);
                }
        }
}

/* Takes [start, end) out of every area, splitting one that it cuts in two. */
static int remove_areas(struct process *p, u32 start, u32 end)
{
        for (int i = 0; i < p->area_count; i++) {
                struct area *a = &p->areas[i];
                if (end <= a->start || a->end <= start)
                        continue;
                if (start > a->start && end < a->end) {
                        struct area *tail = add_area(p, end, a->end, a->writable);
                        if (!tail)
                                return -ENOMEM;
                        *tail = *a;
                        tail->start = end;
                        a = &p->areas[i];
                        a->end = start;
                } else if (start > a->start) {
                        a->end = start;
                } else if (end < a->end) {
                        a->start = end;
                } else {
                        p->areas[i--] = p->areas[--p->area_count];
                }
        }
        unmap_range(p, start, end);
        return 0;
}

void process_destroy(struct process *p)
{
        for (u32 index = 0; index < PAGE_OFFSET >> 22; index++) {
                if (!(p->pgdir[index] & PTE_PRESENT))
                        continue;
                u32 *table = va(p->pgdir[index] & PTE_FRAME);
                for (u32 i = 0; i < 1024; i++)
                        if (table[i] & PTE_PRESENT)
                                page_free(table[i] & PTE_FRAME);
                page_free(p->pgdir[index] & PTE_FRAME);
                p->pgdir[index] = 0;
                /* The host drops its shadow of that table: the page is free now. */
                hcall(LHCALL_SET_PMD, pa(p->pgdir), index, 0);
        }
        page_free(pa(p->pgdir));
        p->pgdir = 0;
}

/* ---- loading ---- */

struct elf_header {
        u8 ident[16];
        u16 type, machine;
        u32 version, entry, phoff, shoff, flags;
        u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf_program_header {
        u32 type, offset, vaddr, paddr, filesz, memsz, flags, align;
};

#define PT_LOAD         1
#define PF_W            2
#define AT_NULL         0
#define AT_PHDR         3
#define AT_PHENT        4
#define AT_PHNUM        5
#define AT_PAGESZ       6
#define AT_BASE         7
#define AT_FLAGS        8
#define AT_ENTRY        9
#define AT_UID          11
#define AT_EUID         12
#define AT_GID          13
#define AT_EGID         14
#define AT_PLATFORM     15
#define AT_HWCAP        16
#define AT_CLKTCK       17
#define AT_SECURE       23
#define AT_RANDOM       25

static u32 string_length(const char *s)
{
        u32 n = 0;
        while (s[n])
                n++;
        return n;
}

/* The registers a process starts with: all zero (edx too: no atexit for us). */
static void initial_frame(struct process *p, u32 eip, u32 esp, u32 ebx)
{
        memset(&p->frame, 0, sizeof(p->frame));
        p->frame.eip = eip;
        p->frame.cs = USER_CS;
        p->frame.eflags = 0x202;
        p->frame.user_esp = esp;
        p->frame.user_ss = USER_DS;
        p->frame.ds = p->frame.es = USER_DS;
        p->frame.ebx = ebx;
}

/*
 * The initial stack, as Linux's create_elf_tables() lays it out, from the top down:
 * the strings (arguments, environment, the platform name, 16 random bytes), then,
 * 16-byte aligned, argc, the argv pointers and a NULL, the envp pointers and a NULL,
 * and the auxiliary vector of (type, value) pairs ending in AT_NULL.
 */
static const char *const environment[] = { "HOME=/", "TERM=linux", "PATH=/", 0 };
static u32 stack_words[1024];

static int build_stack(struct process *p, int argc, const char *const *argv, const u32 *auxv, u32 aux_pairs,
                       u32 *stack_pointer)
{
        u32 sp = PROCESS_STACK_TOP;
        int envc = 0;
        while (environment[envc])
                envc++;
        u32 pointers[64];
        if (argc + envc > 64)
                return -1;
        for (int i = argc + envc - 1; i >= 0; i--) {
                const char *s = i < argc ? argv[i] : environment[i - argc];
                u32 len = string_length(s) + 1;
                sp -= len;
                if (copy_to_user(p, sp, s, len) < 0)
                        return -1;
                pointers[i] = sp;
        }
        sp -= 5;
        u32 platform = sp;
        if (copy_to_user(p, platform, "i686", 5) < 0)
                return -1;
        sp = (sp - 16) & ~15u;
        u32 random = sp;
        u32 seed[4] = { lguest_data.time_nsec, 0x9e3779b9, lguest_data.time_sec, 0x7f4a7c15 };
        if (copy_to_user(p, random, seed, 16) < 0)
                return -1;

        u32 n = 0;
        stack_words[n++] = argc;
        for (int i = 0; i < argc; i++)
                stack_words[n++] = pointers[i];
        stack_words[n++] = 0;
        for (int i = 0; i < envc; i++)
                stack_words[n++] = pointers[argc + i];
        stack_words[n++] = 0;
        for (u32 i = 0; i < aux_pairs * 2; i++)
                stack_words[n++] = auxv[i];
        stack_words[n++] = AT_PLATFORM;
        stack_words[n++] = platform;
        stack_words[n++] = AT_RANDOM;
        stack_words[n++] = random;
        stack_words[n++] = AT_NULL;
        stack_words[n++] = 0;
        sp = (sp - n * 4) & ~15u;
        if (copy_to_user(p, sp, stack_words, n * 4) < 0)
                return -1;
        *stack_pointer = sp;
        return 0;
}

static int add_stack_area(struct process *p)
{
        return add_area(p, PROCESS_STACK_TOP - PROCESS_STACK_SIZE, PROCESS_STACK_TOP, 1) ? 0 : -1;
}

struct process *process_from_elf(const char *name, const u8 *elf, u32 size,
                                 int argc, const char *const *argv, const char **why)
{
        const struct elf_header *h = (const void *)elf;
        if (size < sizeof(*h) || h->ident[0] != 0x7f || h->ident[1] != 'E' || h->ident[2] != 'L'
            || h->ident[3] != 'F') {
                *why = "not an ELF file";
                return 0;
        }
        if (h->ident[4] != 1 || h->ident[5] != 1 || h->machine != 3 || h->type != 2) {
                *why = "not a static i386 executable";
                return 0;
        }
        if (h->phentsize != sizeof(struct elf_program_header) || h->phoff > size
            || h->phnum > (size - h->phoff) / sizeof(struct elf_program_header)) {
                *why = "bad program headers";
                return 0;
        }
        struct process *p = process_new(name);
        if (!p) {
                *why = "too many processes";
                return 0;
        }
        const struct elf_program_header *ph = (const void *)(elf + h->phoff);
        u32 top = 0, phdr_address = 0;
        for (u32 i = 0; i < h->phnum; i++) {
                if (ph[i].type != PT_LOAD || ph[i].memsz == 0)
                        continue;
                if (ph[i].offset > size || ph[i].filesz > size - ph[i].offset || ph[i].filesz > ph[i].memsz
                    || ph[i].vaddr + ph[i].memsz < ph[i].vaddr
                    || ph[i].vaddr + ph[i].memsz > PROCESS_STACK_TOP - PROCESS_STACK_SIZE) {
                        *why = "a segment outside the file or user space";
                        process_destroy(p);
                        return 0;
                }
                struct area *a = add_area(p, page_down(ph[i].vaddr), page_up(ph[i].vaddr + ph[i].memsz),
                                          (ph[i].flags & PF_W) != 0);
                a->file = elf + ph[i].offset;
                a->file_address = ph[i].vaddr;
                a->file_size = ph[i].filesz;
                if (h->phoff >= ph[i].offset && h->phoff < ph[i].offset + ph[i].filesz)
                        phdr_address = ph[i].vaddr + (h->phoff - ph[i].offset);
                if (ph[i].vaddr + ph[i].memsz > top)
                        top = ph[i].vaddr + ph[i].memsz;
        }
        /* The heap starts on the page after the highest segment, and is empty. */
        p->brk_start = p->brk = page_up(top);
        add_stack_area(p);

        u32 auxv[] = {
                AT_HWCAP, 0, AT_PAGESZ, PAGE_SIZE, AT_CLKTCK, 100,
                AT_PHDR, phdr_address, AT_PHENT, sizeof(struct elf_program_header), AT_PHNUM, h->phnum,
                AT_BASE, 0, AT_FLAGS, 0, AT_ENTRY, h->entry,
                AT_UID, 0, AT_EUID, 0, AT_GID, 0, AT_EGID, 0, AT_SECURE, 0,
        };
        u32 sp;
        if (build_stack(p, argc, argv, auxv, sizeof(auxv) / 8, &sp) < 0) {
                *why = "the arguments do not fit on the stack";
                process_destroy(p);
                return 0;
        }
        initial_frame(p, h->entry, sp, 0);
        return p;
}

struct process *process_from_builtin(const char *name, const char *entry, u32 ebx)
{
        struct process *p = process_new(name);
        if (!p)
                return 0;
        struct area *code = add_area(p, USER_CODE, USER_CODE + (user_end - user_start), 0);
        code->file = (const u8 *)user_start;
        code->file_address = USER_CODE;
        code->file_size = user_end - user_start;
        add_stack_area(p);
        initial_frame(p, user_address(entry), PROCESS_STACK_TOP, ebx);
        return p;
}

/* ---- running ---- */

static void switch_address_space(struct process *p)
{
        current_process = p;
        current_pgdir = p ? p->pgdir : kernel_pgdir;
        hcall(LHCALL_NEW_PGTABLE, pa(current_pgdir), 0, 0);
}

void process_run(struct process **processes, int count)
{
        running_count = 0;
        for (int i = 0; i < count && i < MAX_RUNNING; i++)
                running[running_count++] = processes[i];
        struct process *first = running[0];
        switch_address_space(first);
        u32 flags = irq_save();
        enter_user(first->frame.eip, first->frame.user_esp, first->frame.eflags, first->frame.ebx, 0);
        irq_restore(flags);
        switch_address_space(0);
        running_count = 0;
}

/* The next process after the current one that has not exited, or 0. */
static struct process *next_runnable(void)
{
        int at = 0;
        while (running[at] != current_process)
                at++;
        for (int step = 1; step <= running_count; step++) {
                struct process *p = running[(at + step) % running_count];
                if (!p->exited)
                        return p;
        }
        return 0;
}

/* Leaves `f` (the trap frame we return through) holding `next`'s registers. */
static void switch_to(struct trap_frame *f, struct process *next)
{
        if (next == current_process)
                return;
        current_process->frame = *f;
        *f = next->frame;
        switch_address_space(next);
        context_switches++;
}

static void process_exit(struct trap_frame *f, u32 code)
{
        current_process->exited = 1;
        current_process->exit_code = code;
        struct process *next = next_runnable();
        if (!next)
                leave_user(code);
        current_process->frame = *f;
        *f = next->frame;
        switch_address_space(next);
}

static void print_name_and(const char *what)
{
        print("testkernel: ");
        print(current_process->name);
        print(what);
}

/* A trap from ring 3 that is not a system call: a page to fault in, or the end. */
void process_trap(struct trap_frame *f, u32 cr2)
{
        if (f->vector == 14) {
                struct area *a = find_area(current_process, cr2);
                int fixable = a && a->accessible && !(f->error & 1) && (a->writable || !(f->error & 2));
                if (fixable && fault_in(current_process, cr2))
                        return;
        }
        print_name_and(" killed by trap ");
        print_u32(f->vector);
        print(" at eip ");
        print_hex(f->eip);
        if (f->vector == 14) {
                print(" address ");
                print_hex(cr2);
        }
        print("\n");
        process_exit(f, USER_KILLED(f->vector));
}

/* ---- standard input and output ---- */

static const u8 *stdin_data;
static u32 stdin_size, stdin_at;
static int stdin_is_console;

void process_set_stdin_file(const u8 *data, u32 size)
{
        stdin_data = data;
        stdin_size = size;
        stdin_at = 0;
}

void process_set_stdin_console(void)
{
        stdin_is_console = 1;
}

static u8 io_buffer[PAGE_SIZE];

/* The virtio console if there is one; else the early console, which takes strings. */
static void console_output(const u8 *bytes, u32 len)
{
        if (console_write(bytes, len) >= 0)
                return;
        char piece[17];
        u32 n = 0;
        for (u32 i = 0; i < len; i++) {
                if (bytes[i])
                        piece[n++] = bytes[i];
                if (n == 16 || (i + 1 == len && n)) {
                        piece[n] = '\0';
                        print(piece);
                        n = 0;
                }
        }
}

static int sys_write(u32 fd, u32 buffer, u32 len)
{
        if (fd != 1 && fd != 2)
                return -EBADF;
        for (u32 done = 0; done < len;) {
                u32 n = len - done < sizeof(io_buffer) ? len - done : sizeof(io_buffer);
                if (copy_from_user(current_process, io_buffer, buffer + done, n) < 0)
                        return done ? (int)done : -EFAULT;
                console_output(io_buffer, n);
                done += n;
        }
        return len;
}

static int sys_read(u32 fd, u32 buffer, u32 len)
{
        if (fd != 0)
                return -EBADF;
        if (len > sizeof(io_buffer))
                len = sizeof(io_buffer);
        int got = 0;
        if (stdin_data) {
                got = stdin_size - stdin_at < len ? stdin_size - stdin_at : len;
                memcpy(io_buffer, stdin_data + stdin_at, got);
                stdin_at += got;
        } else if (stdin_is_console && len) {
                got = console_read(io_buffer, len);
                if (got < 0)
                        got = 0;
        }
        if (copy_to_user(current_process, buffer, io_buffer, got) < 0)
                return -EFAULT;
        return got;
}

/* ---- memory ---- */

static u32 sys_brk(u32 wanted)
{
        struct process *p = current_process;
        if (wanted < p->brk_start)
                return p->brk;
        u32 old_end = page_up(p->brk), new_end = page_up(wanted);
        if (new_end > old_end) {
                if (overlaps_any(p, old_end, new_end))
                        return p->brk;
                /* The heap is one area that grows: find it, or start it. */
                struct area *heap = old_end > p->brk_start ? find_area(p, old_end - 1) : 0;
                if (heap)
                        heap->end = new_end;
                else if (!add_area(p, old_end, new_end, 1))
                        return p->brk;
        } else if (new_end < old_end) {
                remove_areas(p, new_end, old_end);
        }
        p->brk = wanted;
        return wanted;
}

static u32 find_free_range(struct process *p, u32 hint, u32 len)
{
        u32 start = hint >= PROCESS_MMAP_BASE ? page_down(hint) : PROCESS_MMAP_BASE;
        for (;;) {
                if (start + len < start || start + len > PROCESS_STACK_TOP - PROCESS_STACK_SIZE)
                        return 0;
                int moved = 0;
                for (int i = 0; i < p->area_count; i++) {
                        if (start < p->areas[i].end && p->areas[i].start < start + len) {
                                start = p->areas[i].end;
                                moved = 1;
                        }
                }
                if (!moved)
                        return start;
        }
}

/* Anonymous private memory only: we have no files to map. */
static int sys_mmap(u32 address, u32 len, u32 prot, u32 flags, u32 fd)
{
        (void)fd;
        struct process *p = current_process;
        if (!(flags & MAP_ANONYMOUS))
                return -EBADF;
        if (len == 0 || len > PROCESS_STACK_TOP)
                return -EINVAL;
        len = page_up(len);
        u32 start;
        if (flags & MAP_FIXED) {
                if (address & (PAGE_SIZE - 1) || address + len > PROCESS_STACK_TOP || address + len < address)
                        return -EINVAL;
                if (remove_areas(p, address, address + len) < 0)
                        return -ENOMEM;
                start = address;
        } else {
                start = find_free_range(p, address, len);
                if (!start)
                        return -ENOMEM;
        }
        struct area *a = add_area(p, start, start + len, (prot & PROT_WRITE) != 0);
        if (!a)
                return -ENOMEM;
        a->accessible = prot != 0;
        return start;
}

static int sys_munmap(u32 address, u32 len)
{
        if (address & (PAGE_SIZE - 1) || len == 0 || address + len > PROCESS_STACK_TOP || address + len < address)
                return -EINVAL;
        return remove_areas(current_process, address, address + page_up(len));
}

/* ---- the rest ---- */

static u32 wall_seconds(void)
{
        /* The host refreshes the clock whenever it has control; give it control. */
        hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        return lguest_data.time_sec;
}

static int sys_gettimeofday(u32 tv, u32 tz)
{
        hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        u32 now[2] = { lguest_data.time_sec, lguest_data.time_nsec / 1000 };
        u32 zone[2] = { 0, 0 };
        if (tv && copy_to_user(current_process, tv, now, sizeof(now)) < 0)
                return -EFAULT;
        if (tz && copy_to_user(current_process, tz, zone, sizeof(zone)) < 0)
                return -EFAULT;
        return 0;
}

/* struct new_utsname: six fields of 65 bytes. */
static int sys_uname(u32 buffer)
{
        static const char *const fields[6] = { "Linux", "lguest", "2.6.24", "#1 lguest testkernel", "i686", "(none)" };
        static char uts[6][65];
        memset(uts, 0, sizeof(uts));
        for (int i = 0; i < 6; i++)
                memcpy(uts[i], fields[i], string_length(fields[i]));
        return copy_to_user(current_process, buffer, uts, sizeof(uts));
}

/*
 * Linux i386's system call convention: the number in eax, arguments in ebx, ecx,
 * edx, esi, edi, ebp, the result (or -errno) back in eax.
 */
void linux_system_call(struct trap_frame *f)
{
        struct process *p = current_process;
        int result;
        switch (f->eax) {
        case NR_exit:
        case NR_exit_group:
                process_exit(f, f->ebx & 0xff);
                return;
        case NR_write:
                result = sys_write(f->ebx, f->ecx, f->edx);
                break;
        case NR_read:
                result = sys_read(f->ebx, f->ecx, f->edx);
                break;
        case NR_brk:
                result = sys_brk(f->ebx);
                break;
        case NR_mmap2:
                result = sys_mmap(f->ebx, f->ecx, f->edx, f->esi, f->edi);
                break;
        case NR_old_mmap: {
                /* The old mmap takes its six arguments in a block in user memory. */
                u32 args[6];
                result = copy_from_user(p, args, f->ebx, sizeof(args));
                if (result == 0)
                        result = (args[5] & (PAGE_SIZE - 1)) ? -EINVAL
                                 : sys_mmap(args[0], args[1], args[2], args[3], args[4]);
                break;
        }
        case NR_munmap:
                result = sys_munmap(f->ebx, f->ecx);
                break;
        case NR_getpid:
                result = p->pid;
                break;
        case NR_time: {
                u32 now = wall_seconds();
                result = now;
                if (f->ebx && copy_to_user(p, f->ebx, &now, 4) < 0)
                        result = -EFAULT;
                break;
        }
        case NR_gettimeofday:
                result = sys_gettimeofday(f->ebx, f->ecx);
                break;
        case NR_uname:
                result = sys_uname(f->ebx);
                break;
        case NR_sched_yield: {
                f->eax = 0;
                struct process *next = next_runnable();
                if (next)
                        switch_to(f, next);
                return;
        }
        default:
                result = -ENOSYS;
        }
        f->eax = result;
        (void)EPERM;
}
