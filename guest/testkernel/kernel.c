/*
 * The test kernel proper: it sets itself up the way a Linux guest does under lguest
 * 2.6.24, then does what the command line asks and powers off: the self-tests (the
 * default, selftest.c; `loop=N` repeats them), Linux programs from the initrd
 * (mode=programs, programs.c), the micro-benchmarks (mode=benchmark, benchmark.c),
 * the virtio block write-and-verify workload (mode=blockcheck, blockcheck.c), or the
 * pause probe that times the guest's own stops (mode=pauseprobe, pauseprobe.c).
 *
 * Setting up is a list of hypercalls: our own GDT (LOAD_GDT), an IDT entry for every
 * exception, irq and the system call (LOAD_IDT_ENTRY), a kernel stack for traps from
 * ring 3 (SET_STACK), and our own page tables, announced entry by entry through the
 * asynchronous ring (SET_PMD) and switched to with NEW_PGTABLE. Then we look for the
 * virtio devices (virtio.c) and unpack the initrd (initrd.c). What the kernel itself
 * says goes out through the early console, a NOTIFY of a short string; programs'
 * output goes to the virtio console when there is one.
 *
 * The trap handlers are here too. They are deliberately obliging: the tests set
 * hooks (resume after an expected fault, which areas fault in on demand) and read
 * back records of what arrived.
 */
#include "kernel.h"
#include "initrd.h"
#include "process.h"
#include "virtio.h"

/* Shared with the host. The fields the host must know before LGUEST_INIT are set
 * here, so they are in place the moment lguest_entry hands this to the host; the
 * timer starts blocked, as in Linux, until a test wants it. */
volatile struct lguest_data lguest_data __attribute__((aligned(16))) = {
        .hcall_status = { [0 ... 63] = 0xFF },
        .noirq_start = (u32)lguest_noirq_start,
        .noirq_end = (u32)lguest_noirq_end,
        .kernel_address = PAGE_OFFSET,
        .blocked_interrupts = 1,
        .syscall_vec = SYSCALL_VECTOR,
};

extern char _end[];

/* ---- the early console ---- */

/* The Launcher prints what we NOTIFY if it is a string below the top of RAM; it
 * takes at most 16 characters at a time, so longer text goes in pieces. */
static char console_scratch[17];

/* Set while a repeated self-test pass runs, so that only its summary reaches the
 * console; panic() and the unexpected-trap report clear it, since a dying kernel
 * must always be heard. */
int print_muted;

void print(const char *s)
{
        if (print_muted)
                return;
        while (*s) {
                unsigned len = 0;
                while (s[len] && len < sizeof(console_scratch) - 1) {
                        console_scratch[len] = s[len];
                        len++;
                }
                console_scratch[len] = '\0';
                hcall(LHCALL_NOTIFY, pa(console_scratch), 0, 0);
                s += len;
        }
}

void print_u32(u32 value)
{
        char digits[11];
        int i = 10;
        digits[i] = '\0';
        do {
                digits[--i] = '0' + value % 10;
                value /= 10;
        } while (value);
        print(&digits[i]);
}

void print_hex(u32 value)
{
        char digits[11] = "0x";
        for (int i = 0; i < 8; i++) {
                u32 nibble = (value >> (28 - 4 * i)) & 0xf;
                digits[2 + i] = nibble < 10 ? '0' + nibble : 'a' + nibble - 10;
        }
        digits[10] = '\0';
        print(digits);
}

/* Dying: TAP's way of saying the rest will not come, then CRASH with the reason. */
void panic(const char *why)
{
        irq_disable();
        print_muted = 0;
        print("Bail out! ");
        print(why);
        print("\n");
        for (;;)
                hcall(LHCALL_CRASH, pa(why), 0, 0);
}

void power_off(void)
{
        for (;;)
                hcall(LHCALL_CRASH, pa("Power down"), 0, 0);
}

/* ---- small library: gcc may call these for structure copies ---- */

/* Whole words when everything is aligned: pages are cleared and copied a lot, and
 * every iteration of a rep is work for the interpreter. */
void *memset(void *s, int c, unsigned n)
{
        void *d = s;
        if ((((u32)s | n) & 3) == 0) {
                u32 word = (u8)c * 0x01010101u;
                n /= 4;
                __asm__ __volatile__("cld; rep stosl" : "+D"(d), "+c"(n) : "a"(word) : "memory");
        } else {
                __asm__ __volatile__("cld; rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
        }
        return s;
}

void *memcpy(void *d, const void *s, unsigned n)
{
        void *to = d;
        if ((((u32)d | (u32)s | n) & 3) == 0) {
                n /= 4;
                __asm__ __volatile__("cld; rep movsl" : "+D"(to), "+S"(s), "+c"(n) : : "memory");
        } else {
                __asm__ __volatile__("cld; rep movsb" : "+D"(to), "+S"(s), "+c"(n) : : "memory");
        }
        return d;
}

/* 64-bit by 32-bit division, which gcc would otherwise leave to libgcc. */
u64 divide_u64(u64 n, u32 d)
{
        u32 high = n >> 32, low = n, quotient_high = high / d, remainder = high % d, quotient_low;
        /* divl: edx:eax / d, and edx < d so the quotient fits. */
        __asm__("divl %4" : "=a"(quotient_low), "=d"(remainder) : "a"(low), "d"(remainder), "rm"(d));
        return (u64)quotient_high << 32 | quotient_low;
}

/* ---- the asynchronous hypercall ring ---- */

/*
 * Calls we need not wait for go in lguest_data's ring; the host runs them, in order,
 * before the next real hypercall. If the slot we would use has not been run yet the
 * ring is full, and a real hypercall (which empties it first) does instead. With
 * interrupts off, so that a handler cannot take the same slot.
 */
static unsigned next_async_call;

void async_hcall(u32 call, u32 arg1, u32 arg2, u32 arg3)
{
        u32 flags = irq_save();
        if (lguest_data.hcall_status[next_async_call] != 0xFF) {
                hcall(call, arg1, arg2, arg3);
        } else {
                volatile u32 *slot = lguest_data.hcalls[next_async_call];
                slot[0] = call;
                slot[1] = arg2;
                slot[2] = arg3;
                slot[3] = arg1;
                __asm__ __volatile__("" : : : "memory");
                lguest_data.hcall_status[next_async_call] = 0;
                next_async_call = (next_async_call + 1) % 64;
        }
        irq_restore(flags);
}

/* ---- time ---- */

static u32 boot_seconds;

s64 host_nanos(void)
{
        u32 seconds = lguest_data.time_sec;
        u32 nanos = lguest_data.time_nsec;
        return (s64)(seconds - boot_seconds) * 1000000000 + nanos;
}

/* The host refreshes the clock each time it gets control, so we give it control. */
void wait_host_nanos(s64 nanos)
{
        s64 start = host_nanos();
        while (host_nanos() - start < nanos)
                hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
}

/* ---- segments ---- */

static u32 gdt[GDT_ENTRIES][2] __attribute__((aligned(8)));
u32 percpu_area[4] = { 0x9e3779b9, 1, 2, 3 };

static void set_descriptor(u32 entry, u32 base, u32 limit, u32 flags)
{
        gdt[entry][0] = (base << 16) | (limit & 0xffff);
        gdt[entry][1] = (base & 0xff000000) | ((base >> 16) & 0xff) | (limit & 0xf0000) | flags;
}

/*
 * Linux's layout: kernel code and data at 12 and 13 with DPL 0 (the host moves them
 * to ring 1, since ring 0 is its own), user code and data at 14 and 15 with DPL 3,
 * and a small per-cpu data segment at 27, also DPL 0, that the tests load into %fs.
 */
void load_gdt(void)
{
        set_descriptor(GDT_ENTRY_KERNEL_CS, 0, 0xfffff, 0x00c09a00);
        set_descriptor(GDT_ENTRY_KERNEL_DS, 0, 0xfffff, 0x00c09200);
        set_descriptor(GDT_ENTRY_USER_CS, 0, 0xfffff, 0x00c0fa00);
        set_descriptor(GDT_ENTRY_USER_DS, 0, 0xfffff, 0x00c0f200);
        set_descriptor(GDT_ENTRY_PERCPU, (u32)percpu_area, sizeof(percpu_area) - 1, 0x00409200);
        hcall(LHCALL_LOAD_GDT, pa(gdt), GDT_ENTRIES, 0);
        /* Reload every segment register from the new table. */
        __asm__ __volatile__("ljmp %0, $1f\n1:\n\t"
                             "movl %1, %%eax\n\t"
                             "movl %%eax, %%ds\n\t"
                             "movl %%eax, %%es\n\t"
                             "movl %%eax, %%ss\n\t"
                             "xorl %%eax, %%eax\n\t"
                             "movl %%eax, %%fs\n\t"
                             "movl %%eax, %%gs"
                             : : "i"(KERNEL_CS), "i"(KERNEL_DS) : "eax", "memory");
}

/* ---- the IDT ---- */

#define GATE_INTERRUPT          0x8e00
#define GATE_TRAP               0x8f00
#define GATE_SYSTEM_INTERRUPT   0xee00  /* reachable with int from ring 3 */
#define GATE_SYSTEM_TRAP        0xef00

void set_idt_gate(u32 vector, u32 handler, u32 type_and_dpl)
{
        /* Linux names __KERNEL_CS (RPL 0); the host runs every handler at ring 1. */
        u32 low = ((GDT_ENTRY_KERNEL_CS << 3) << 16) | (handler & 0xffff);
        u32 high = (handler & 0xffff0000) | type_and_dpl;
        hcall(LHCALL_LOAD_IDT_ENTRY, vector, low, high);
}

/* Gates as Linux's trap_init sets them: int3 and into may be used from ring 3. */
static void load_idt(void)
{
        for (u32 v = 0; v < 20; v++) {
                u32 type = GATE_TRAP;
                if (v == 1 || v == 2 || v == 14)
                        type = GATE_INTERRUPT;
                else if (v == 3)
                        type = GATE_SYSTEM_INTERRUPT;
                else if (v == 4)
                        type = GATE_SYSTEM_TRAP;
                set_idt_gate(v, exception_stubs[v], type);
        }
        for (u32 irq = 0; irq < LGUEST_IRQS; irq++)
                set_idt_gate(FIRST_IRQ_VECTOR + irq, irq_stubs[irq], GATE_INTERRUPT);
        /* A trap gate: the host lets the CPU deliver it without leaving the guest. */
        set_idt_gate(SYSCALL_VECTOR, syscall_stub, GATE_SYSTEM_TRAP);
}

/* ---- the kernel stack for traps from ring 3 ---- */

u8 trap_stack[2][8192] __attribute__((aligned(8192)));

void set_kernel_stack(u32 top)
{
        hcall(LHCALL_SET_STACK, KERNEL_DS, top, 2);
}

/* ---- memory ---- */

u32 ram_bytes;
u32 *kernel_pgdir;
static u32 next_free_page, page_limit;

/*
 * Pages come from the end of the kernel up to half of RAM (the Launcher's page
 * tables and the initrd sit at the top). Pages given back go on a list threaded
 * through their first word and are handed out again first.
 */
static u32 free_list;
u32 pages_free;

u32 page_alloc(void)
{
        u32 page;
        if (free_list) {
                page = free_list;
                free_list = *(u32 *)va(page);
                pages_free--;
        } else {
                if (next_free_page >= page_limit)
                        panic("out of pages");
                page = next_free_page;
                next_free_page += PAGE_SIZE;
        }
        memset(va(page), 0, PAGE_SIZE);
        return page;
}

void page_free(u32 page)
{
        *(u32 *)va(page) = free_list;
        free_list = page;
        pages_free++;
}

/* Physically contiguous pages (never from the free list), not zeroed. */
u32 pages_alloc_contiguous(u32 count)
{
        if (count > (page_limit - next_free_page) / PAGE_SIZE)
                panic("out of contiguous pages");
        u32 first = next_free_page;
        next_free_page += count * PAGE_SIZE;
        return first;
}

/*
 * For the self-test loop: where the allocator stands, and going back there, so that
 * every pass allocates from the same arena and a loop of any length never runs out.
 * Only valid once nothing allocated after the mark is mapped or used any more
 * (test_windows_reset() unmaps the test windows first). Pages on the free list are
 * dropped: their links may have been overwritten by whoever had them since.
 */
u32 page_mark(void)
{
        return next_free_page;
}

void page_rewind(u32 mark)
{
        if (mark > page_limit)
                panic("page_rewind: mark beyond the arena");
        next_free_page = mark;
        free_list = 0;
        pages_free = 0;
}

u32 *pte_slot(u32 *pgdir, u32 address)
{
        u32 pde = pgdir[address >> 22];
        if (!(pde & PTE_PRESENT))
                return 0;
        return (u32 *)va(pde & PTE_FRAME) + ((address >> 12) & 1023);
}

void map_page(u32 *pgdir, u32 address, u32 pte)
{
        u32 *slot = pte_slot(pgdir, address);
        if (!slot)
                panic("map_page: no page table");
        *slot = pte;
        hcall(LHCALL_SET_PTE, pa(pgdir), address, pte);
}

/* A page table for one directory slot, announced to the host with SET_PMD. */
static void add_page_table(u32 *pgdir, u32 address, u32 flags)
{
        u32 index = address >> 22;
        pgdir[index] = page_alloc() | flags;
        async_hcall(LHCALL_SET_PMD, pa(pgdir), index, 0);
}

/*
 * The windows the self-tests map pages into, each one page table that starts empty.
 * test_windows_reset() puts back the empty table each had at boot (a test may have
 * replaced it: test_set_pmd does) and tells the host with SET_PMD, as Linux does
 * when it tears a mapping down, so that the next pass starts from what boot left.
 */
static const u32 test_windows[] = {
        KERNEL_DEMAND_AREA, KERNEL_TEST_AREA, KERNEL_NOIRQ_AREA,
        USER_STACK_AREA, USER_COW_AREA, USER_TEST_AREA,
};
#define TEST_WINDOWS (sizeof(test_windows) / sizeof(test_windows[0]))
static u32 test_window_pde[TEST_WINDOWS];

void test_windows_reset(void)
{
        for (u32 i = 0; i < TEST_WINDOWS; i++) {
                u32 index = test_windows[i] >> 22;
                memset(va(test_window_pde[i] & PTE_FRAME), 0, PAGE_SIZE);
                kernel_pgdir[index] = test_window_pde[i];
                hcall(LHCALL_SET_PMD, pa(kernel_pgdir), index, 0);
        }
}

/*
 * Our own page tables: all of RAM at PAGE_OFFSET (kernel only), the kernel test
 * windows, and in user space the program pages, an empty stack area that fills in
 * on demand, and the areas the copy-on-write and directory tests use. Nothing maps
 * low memory 1:1 any more: from here on, the only way to physical page 0 is
 * through PAGE_OFFSET.
 */
static void build_page_tables(void)
{
        kernel_pgdir = va(page_alloc());
        u32 kernel_table = PTE_PRESENT | PTE_RW | PTE_ACCESSED | PTE_DIRTY;
        u32 user_table = PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED;
        u32 pages = ram_bytes / PAGE_SIZE;
        for (u32 page = 0; page < pages; page += 1024) {
                add_page_table(kernel_pgdir, PAGE_OFFSET + page * PAGE_SIZE, kernel_table);
                u32 *ptes = pte_slot(kernel_pgdir, PAGE_OFFSET + page * PAGE_SIZE);
                for (u32 i = 0; i < 1024 && page + i < pages; i++)
                        ptes[i] = ((page + i) * PAGE_SIZE) | kernel_table;
        }
        add_page_table(kernel_pgdir, KERNEL_DEMAND_AREA, kernel_table);
        add_page_table(kernel_pgdir, KERNEL_TEST_AREA, kernel_table);
        add_page_table(kernel_pgdir, KERNEL_NOIRQ_AREA, kernel_table);
        add_page_table(kernel_pgdir, KERNEL_DEVICE_AREA, kernel_table);

        add_page_table(kernel_pgdir, USER_CODE, user_table);
        add_page_table(kernel_pgdir, USER_STACK_AREA, user_table);
        add_page_table(kernel_pgdir, USER_COW_AREA, user_table);
        add_page_table(kernel_pgdir, USER_TEST_AREA, user_table);
        for (char *page = user_start; page < user_end; page += PAGE_SIZE)
                *pte_slot(kernel_pgdir, user_address(page)) = pa(page) | PTE_PRESENT | PTE_USER | PTE_ACCESSED;
        for (u32 i = 0; i < TEST_WINDOWS; i++)
                test_window_pde[i] = kernel_pgdir[test_windows[i] >> 22];

        /* Like a write to cr3; the SET_PMDs queued above run first. */
        hcall(LHCALL_NEW_PGTABLE, pa(kernel_pgdir), 0, 0);
}

/* ---- traps ---- */

volatile u32 fault_resume;
volatile struct trap_record last_fault, last_breakpoint, last_syscall, last_nm;
volatile u32 timer_ticks, timer_last_eip, timer_last_cs, noirq_violations, spurious_irqs;
volatile u32 alternate_breakpoints, user_ticks, timer_rearm_nanos;
volatile u32 demand_faults, cow_faults, user_report[3];
volatile u32 noirq_unmap_va, noirq_unmap_pte, noirq_unmap_pgdir;
u32 *current_pgdir;

static void record(volatile struct trap_record *r, struct trap_frame *f, u32 cr2)
{
        r->count++;
        r->vector = f->vector;
        r->error = f->error;
        r->eip = f->eip;
        r->cs = f->cs;
        r->eflags = f->eflags;
        r->cr2 = cr2;
        r->frame = (u32)&f->eip;
}

static int in_area(u32 address, u32 start, u32 size)
{
        return address - start < size;
}

/*
 * Page faults the kernel can fix: a page of a demand-zero area that nobody touched
 * yet gets a fresh zeroed page, and a write to a copy-on-write page gets a private
 * copy. Anything else is someone's mistake.
 */
static int fix_page_fault(struct trap_frame *f, u32 address)
{
        u32 *pgdir = current_pgdir ? current_pgdir : kernel_pgdir;
        u32 *slot = pte_slot(pgdir, address);
        u32 page = address & PTE_FRAME;
        if (!slot)
                return 0;
        if (!(f->error & 1)) {
                if (in_area(address, KERNEL_DEMAND_AREA, 0x400000)) {
                        map_page(pgdir, page, page_alloc() | PTE_PRESENT | PTE_RW | PTE_ACCESSED | PTE_DIRTY);
                        demand_faults++;
                        return 1;
                }
                if (in_area(address, USER_STACK_AREA, 0x400000)) {
                        map_page(pgdir, page, page_alloc() | PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED);
                        demand_faults++;
                        return 1;
                }
                return 0;
        }
        if ((f->error & 2) && (*slot & PTE_COW)) {
                u32 copy = page_alloc();
                memcpy(va(copy), va(*slot & PTE_FRAME), PAGE_SIZE);
                map_page(pgdir, page, copy | PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED | PTE_DIRTY);
                cow_faults++;
                return 1;
        }
        return 0;
}

static void system_call(struct trap_frame *f)
{
        record(&last_syscall, f, 0);
        switch (f->eax) {
        case SYS_EXIT:
                leave_user(f->ebx);
        case SYS_REPORT:
                user_report[0] = f->ebx;
                user_report[1] = f->ecx;
                user_report[2] = f->edx;
                f->eax = 0;
                break;
        default:
                f->eax = (u32)-1;
        }
}

static void unexpected(struct trap_frame *f, u32 cr2)
{
        print_muted = 0;
        print("# unexpected trap ");
        print_u32(f->vector);
        print(" at ");
        print_hex(f->eip);
        print(" error ");
        print_hex(f->error);
        print(" cr2 ");
        print_hex(cr2);
        print("\n# cs ");
        print_hex(f->cs);
        print(" eflags ");
        print_hex(f->eflags);
        print(" frame ");
        print_hex((u32)f);
        print(" eax ");
        print_hex(f->eax);
        print(" ds ");
        print_hex(f->ds);
        print(" timer ticks ");
        print_u32(timer_ticks);
        print(" last timer eip ");
        print_hex(timer_last_eip);
        print("\n");
        panic("testkernel: unexpected trap");
}

void trap_dispatch(struct trap_frame *f)
{
        u32 cr2 = 0;
        u32 vector = f->vector;
        if (vector == FIRST_IRQ_VECTOR) {
                timer_ticks++;
                timer_last_eip = f->eip;
                timer_last_cs = f->cs;
                if ((f->cs & 3) == 3)
                        user_ticks++;
                /* The clock is one-shot; a test that wants a steady tick re-arms it. */
                if (timer_rearm_nanos)
                        hcall(LHCALL_SET_CLOCKEVENT, timer_rearm_nanos, 0, 0);
                if (f->eip >= (u32)lguest_noirq_start && f->eip < (u32)lguest_noirq_end)
                        noirq_violations++;
                return;
        }
        if (vector > FIRST_IRQ_VECTOR && vector < FIRST_IRQ_VECTOR + LGUEST_IRQS) {
                /* Device interrupts only end a HALT (virtio.c); nothing else to do. */
                spurious_irqs++;
                return;
        }
        if (current_process && (f->cs & 3) == 3) {
                if (vector == SYSCALL_VECTOR)
                        linux_system_call(f);
                else if (vector == 7)
                        hcall(LHCALL_TS, 0, 0, 0);
                else
                        process_trap(f, vector == 14 ? lguest_data.cr2 : 0);
                return;
        }
        switch (vector) {
        case SYSCALL_VECTOR:
                system_call(f);
                return;
        case 3:
                record(&last_breakpoint, f, 0);
                return;
        case 0x103:
                alternate_breakpoints++;
                record(&last_breakpoint, f, 0);
                return;
        case 7:
                /* Lazy FPU: our FPU state is the only one, so just let the task use
                 * it; clearing TS is a hypercall, like Linux's clts. */
                record(&last_nm, f, 0);
                hcall(LHCALL_TS, 0, 0, 0);
                return;
        case 14:
                /* The host keeps cr2 for us: reading cr2 would be a privileged op. */
                cr2 = lguest_data.cr2;
                if (fix_page_fault(f, cr2))
                        return;
                break;
        }
        if (fault_resume && (f->cs & 3) != 3) {
                record(&last_fault, f, cr2);
                f->eip = fault_resume;
                fault_resume = 0;
                return;
        }
        if ((f->cs & 3) == 3) {
                record(&last_fault, f, cr2);
                leave_user(USER_KILLED(vector));
        }
        unexpected(f, cr2);
}

u32 run_user(const char *program, u32 ebx)
{
        u32 flags = irq_save();
        u32 result = enter_user(user_address(program), USER_STACK_TOP, 0x202, ebx, 0);
        irq_restore(flags);
        return result;
}

/* ---- boot ---- */

/*
 * Kernel arguments of the form key=value (key given with its '='): copies the value
 * (up to the next space, at most size-1 characters) and returns 1, or returns 0 if
 * the argument is not there.
 */
int arg_string(const char *line, const char *key, char *value, u32 size)
{
        for (const char *p = line; *p; p++) {
                if (p != line && p[-1] != ' ')
                        continue;
                u32 k = 0;
                while (key[k] && p[k] == key[k])
                        k++;
                if (key[k])
                        continue;
                u32 n = 0;
                for (p += k; *p && *p != ' ' && n + 1 < size; p++)
                        value[n++] = *p;
                value[n] = '\0';
                return 1;
        }
        return 0;
}

/* A decimal key=N: 1 with the number, 0 if absent or not a number. */
int arg_u32(const char *line, const char *key, u32 *value)
{
        char text[12];
        if (!arg_string(line, key, text, sizeof(text)) || !text[0])
                return 0;
        u32 n = 0;
        for (const char *p = text; *p; p++) {
                if (*p < '0' || *p > '9')
                        return 0;
                n = n * 10 + (*p - '0');
        }
        *value = n;
        return 1;
}

static const char *command_line;

int has_word(const char *line, const char *word)
{
        for (const char *p = line; *p; p++) {
                if (p != line && p[-1] != ' ')
                        continue;
                int k = 0;
                while (word[k] && p[k] == word[k])
                        k++;
                if (!word[k] && (p[k] == ' ' || p[k] == '\0'))
                        return 1;
        }
        return 0;
}

void kernel_main(u32 boot_params)
{
        boot_seconds = lguest_data.time_sec;
        const u8 *params = va(boot_params);
        ram_bytes = *(const u32 *)(params + BOOT_E820_MAP + 8);
        /* The device page is the first page above RAM, however much of RAM we map. */
        u32 ram_top = ram_bytes;
        if (ram_bytes > 0x10000000)
                ram_bytes = 0x10000000;
        u32 cmdline = *(const u32 *)(params + BOOT_CMD_LINE_PTR);
        command_line = cmdline ? va(cmdline) : "";

        next_free_page = (pa(_end) + PAGE_SIZE - 1) & PTE_FRAME;
        page_limit = ram_bytes / 2;

        load_gdt();
        load_idt();
        set_kernel_stack((u32)trap_stack[0] + sizeof(trap_stack[0]));
        build_page_tables();
        current_pgdir = kernel_pgdir;

        virtio_init(ram_top);
        initrd_load(params);

        if (has_word(command_line, "mode=programs"))
                programs_main(command_line);
        else if (has_word(command_line, "mode=benchmark"))
                benchmark_main(command_line);
        else if (has_word(command_line, "mode=blockcheck"))
                blockcheck_main(command_line);
        else if (has_word(command_line, "mode=pauseprobe"))
                pauseprobe_main(command_line);
        else
                selftest(command_line);
        power_off();
}
