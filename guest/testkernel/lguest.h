/*
 * The lguest 2.6.24 guest ABI as the test kernel sees it: hypercall numbers, the
 * layout of struct lguest_data that we share with the host, our segment selectors
 * and the page table bits. The numbers are the ABI's (shared/lguest-2.6.24-abi.md);
 * this header is included by both C and assembly, so the C half is fenced off.
 */
#ifndef TESTKERNEL_LGUEST_H
#define TESTKERNEL_LGUEST_H

/* We are linked here, like Linux, but loaded at 1 MiB physical. */
#define PAGE_OFFSET             0xC0000000
#define PAGE_SIZE               4096

#define LHCALL_FLUSH_ASYNC      0
#define LHCALL_LGUEST_INIT      1
#define LHCALL_CRASH            2
#define LHCALL_LOAD_GDT         3
#define LHCALL_NEW_PGTABLE      4
#define LHCALL_FLUSH_TLB        5
#define LHCALL_LOAD_IDT_ENTRY   6
#define LHCALL_SET_STACK        7
#define LHCALL_TS               8
#define LHCALL_SET_CLOCKEVENT   9
#define LHCALL_HALT             10
#define LHCALL_SET_PTE          14
#define LHCALL_SET_PMD          15
#define LHCALL_LOAD_TLS         16
#define LHCALL_NOTIFY           17

#define LGUEST_TRAP_ENTRY       0x1f
#define SYSCALL_VECTOR          0x80
#define FIRST_IRQ_VECTOR        32
#define LGUEST_IRQS             32

/* Linux's GDT layout. The kernel's entries say DPL 0; the host runs them at ring 1. */
#define GDT_ENTRIES             32
#define GDT_ENTRY_TLS_MIN       6
#define GDT_ENTRY_KERNEL_CS     12
#define GDT_ENTRY_KERNEL_DS     13
#define GDT_ENTRY_USER_CS       14
#define GDT_ENTRY_USER_DS       15
#define GDT_ENTRY_PERCPU        27
#define KERNEL_CS               ((GDT_ENTRY_KERNEL_CS << 3) | 1)   /* 0x61 */
#define KERNEL_DS               ((GDT_ENTRY_KERNEL_DS << 3) | 1)   /* 0x69 */
#define USER_CS                 ((GDT_ENTRY_USER_CS << 3) | 3)     /* 0x73 */
#define USER_DS                 ((GDT_ENTRY_USER_DS << 3) | 3)     /* 0x7b */
#define PERCPU_SEL              ((GDT_ENTRY_PERCPU << 3) | 1)
#define TLS_SEL                 ((GDT_ENTRY_TLS_MIN << 3) | 3)     /* 0x33 */

/* Offsets in struct lguest_data, for assembly. */
#define LGUEST_DATA_irq_enabled 0
#define LGUEST_DATA_pgdir       1116

#define X86_EFLAGS_IF           0x200
#define X86_CR0_TS              8

/* Page table entry bits; bit 9 is free for software and marks copy-on-write. */
#define PTE_PRESENT             0x001
#define PTE_RW                  0x002
#define PTE_USER                0x004
#define PTE_ACCESSED            0x020
#define PTE_DIRTY               0x040
#define PTE_COW                 0x200
#define PTE_FRAME               0xFFFFF000

/* Where benchmark mode's page fault loop writes (user space, demand-zero). */
#define BENCHMARK_TOUCH_AREA    0x60000000

/* Our system calls (eax at int $0x80 from ring 3). */
#define SYS_EXIT                1
#define SYS_REPORT              2

#ifndef __ASSEMBLER__

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef unsigned long long u64;
typedef long long s64;

/* struct lguest_data: 1136 bytes at an address we give LGUEST_INIT. */
struct lguest_data {
        u32 irq_enabled;                /* 0 or X86_EFLAGS_IF: our cli/sti */
        u32 blocked_interrupts;         /* a bit per irq we do not want */
        u32 cr2;                        /* the host puts a page fault's address here */
        u32 time_sec, time_nsec;        /* wall clock, refreshed by the host */
        u8  hcall_status[64];           /* 0: queued for the host, 0xFF: done */
        u32 hcalls[64][4];              /* eax, ebx, ecx, edx of each queued call */
        u32 reserve_mem;
        u32 tsc_khz;
        u32 pgdir;                      /* the Launcher's page directory */
        u32 noirq_start, noirq_end;     /* never interrupt us in here */
        u32 kernel_address;
        u32 syscall_vec;
};

extern volatile struct lguest_data lguest_data;

static inline u32 hcall(u32 call, u32 arg1, u32 arg2, u32 arg3)
{
        __asm__ __volatile__("int $0x1f"
                             : "+a"(call)
                             : "d"(arg1), "b"(arg2), "c"(arg3)
                             : "memory");
        return call;
}

static inline u32 pa(const volatile void *virt)
{
        return (u32)virt - PAGE_OFFSET;
}

static inline void *va(u32 phys)
{
        return (void *)(phys + PAGE_OFFSET);
}

#endif
#endif
