/*
 * What the parts of the test kernel share: the trap frame the entry code builds,
 * the console, the page allocator and page table helpers, interrupt flag helpers,
 * and the hooks the self-tests set so that the trap handlers do what a test wants.
 */
#ifndef TESTKERNEL_KERNEL_H
#define TESTKERNEL_KERNEL_H

#include "lguest.h"

/* What trap_common leaves on the stack, lowest address first. */
struct trap_frame {
        u32 gs, fs, es, ds;
        u32 edi, esi, ebp, esp_unused, ebx, edx, ecx, eax;     /* pushal */
        u32 vector, error;
        u32 eip, cs, eflags;
        u32 user_esp, user_ss;          /* only when we came from ring 3 */
};

/* Where user programs live: the code page(s), the stack, the copy-on-write area. */
#define USER_CODE               0x08048000
#define USER_STACK_TOP          0xBFFFF000
#define USER_STACK_AREA         0xBFC00000      /* one page table: demand-zero */
#define USER_COW_AREA           0x50000000
#define USER_TEST_AREA          0x40000000      /* the directory-switch tests */
/* Kernel-space windows the tests map and remap. */
#define KERNEL_DEMAND_AREA      0xE0400000      /* demand-zero kernel pages */
#define KERNEL_TEST_AREA        0xE0800000      /* remapped by the SET_PTE/PMD/TLB tests */
#define KERNEL_NOIRQ_AREA       0xE0C00000      /* the straddling iret frame */
#define KERNEL_DEVICE_AREA      0xE1000000      /* the device pages above RAM (virtio.c) */
#define UNMAPPED_ADDRESS        0xD0000ABC      /* nothing at all maps this */

/* An exit value for a user program the kernel had to end: 0xDEAD00vv. */
#define USER_KILLED(vector)     (0xDEAD0000 | (vector))

/* console.c-ish, in kernel.c */
extern int print_muted;                 /* print() says nothing while set */
void print(const char *s);
void print_u32(u32 value);
void print_hex(u32 value);
void panic(const char *why) __attribute__((noreturn));
u64 divide_u64(u64 n, u32 d);

/* Interrupts, as lguest guests turn them on and off: a word in lguest_data. */
static inline void irq_disable(void) { lguest_data.irq_enabled = 0; }
static inline void irq_enable(void) { lguest_data.irq_enabled = X86_EFLAGS_IF; }
static inline u32 irq_save(void)
{
        u32 flags = lguest_data.irq_enabled;
        irq_disable();
        return flags;
}
static inline void irq_restore(u32 flags) { lguest_data.irq_enabled = flags; }

void async_hcall(u32 call, u32 arg1, u32 arg2, u32 arg3);

/* Memory. */
extern u32 ram_bytes;
extern u32 *kernel_pgdir;
u32 page_alloc(void);                           /* a zeroed physical page */
void page_free(u32 page);
u32 pages_alloc_contiguous(u32 count);          /* physically contiguous, not zeroed */
extern u32 pages_free;
u32 page_mark(void);                            /* the self-test loop's arena: */
void page_rewind(u32 mark);                     /*   back to the mark, free list dropped */
void test_windows_reset(void);                  /* the test windows empty again, as at boot */
u32 *pte_slot(u32 *pgdir, u32 address);         /* the pte for address, or 0 */
void map_page(u32 *pgdir, u32 address, u32 pte);        /* write + SET_PTE */
void *memset(void *s, int c, unsigned n);
void *memcpy(void *d, const void *s, unsigned n);

/* The wall clock the host keeps in lguest_data, in nanoseconds since we booted. */
s64 host_nanos(void);
void wait_host_nanos(s64 nanos);

/* Trap hooks, set by tests. */
extern volatile u32 fault_resume;       /* resume here after an expected fault */
struct trap_record {
        u32 count, vector, error, eip, cs, eflags, cr2, frame;
};
extern volatile struct trap_record last_fault, last_breakpoint, last_syscall, last_nm;
extern volatile u32 timer_ticks, timer_last_eip, timer_last_cs, noirq_violations, spurious_irqs;
extern volatile u32 alternate_breakpoints, user_ticks, timer_rearm_nanos;
extern u32 *current_pgdir;
extern u32 percpu_area[4];
extern volatile u32 demand_faults, cow_faults, user_report[3];
extern volatile u32 noirq_unmap_va, noirq_unmap_pte, noirq_unmap_pgdir;

/* head.S */
extern const u32 exception_stubs[20], irq_stubs[32], syscall_stub;
extern char vector_alternate_breakpoint[];
extern char lguest_noirq_start[], lguest_noirq_end[], lguest_noirq_iret[];
extern char user_start[], user_end[];
extern char user_exit[], user_push[], user_cow[], user_read_kernel[], user_hypercall[], user_spin[];
extern char user_getpid_loop[], user_touch_pages[], user_yield_loop[];
u32 enter_user(u32 eip, u32 esp, u32 eflags, u32 ebx, u32 frame_stack);
void leave_user(u32 value) __attribute__((noreturn));

/* A user program's address once mapped at USER_CODE. */
static inline u32 user_address(const char *program)
{
        return USER_CODE + (u32)(program - user_start);
}
u32 run_user(const char *program, u32 ebx);

/* Setting up, in kernel.c; the tests call them again to check they still work. */
void load_gdt(void);
void set_idt_gate(u32 vector, u32 handler, u32 type_and_dpl);
void set_kernel_stack(u32 top);
extern u8 trap_stack[2][8192];

void selftest(const char *command_line);
void programs_main(const char *command_line);   /* programs.c */
void benchmark_main(const char *command_line);  /* benchmark.c */
void blockcheck_main(const char *command_line); /* blockcheck.c */
void pauseprobe_main(const char *command_line); /* pauseprobe.c */
int blockcheck_run(u32 count, int hold_after_flush);
int has_word(const char *line, const char *word);
int arg_string(const char *line, const char *key, char *value, u32 size);
int arg_u32(const char *line, const char *key, u32 *value);
void power_off(void) __attribute__((noreturn));

#endif
