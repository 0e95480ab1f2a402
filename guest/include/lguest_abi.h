/*
 * The lguest 2.6.24 guest ABI as our small C guests see it: the hypercall numbers,
 * struct lguest_data (the page a guest shares with the host), the selectors a guest
 * kernel runs on, the page table bits, and where the Launcher puts things in
 * boot_params. One copy for every guest here (the demo, hostile, virtio-probe guests
 * and the test kernel), so that a number cannot drift between them. (The whole ABI is
 * in shared/lguest-2.6.24-abi.md.) Assembly includes it too, so the C half is fenced off.
 */
#ifndef LGUEST_ABI_H
#define LGUEST_ABI_H

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

/* The vector a hypercall traps through, and the system-call vector Linux uses. */
#define LGUEST_TRAP_ENTRY       0x1f
#define SYSCALL_VECTOR          0x80

/* The guest kernel's segments, at ring 1, and the host's own (ring 0) code segment. */
#define KERNEL_CS               0x61
#define KERNEL_DS               0x69
#define LGUEST_CS               0x50
#define GDT_ENTRIES             32

/* Page table entry bits (i386, no PAE). */
#define PAGE_SIZE               4096
#define PTE_PRESENT             0x001
#define PTE_RW                  0x002
#define PTE_USER                0x004
#define PTE_PWT                 0x008
#define PTE_ACCESSED            0x020
#define PTE_DIRTY               0x040
#define PTE_PSE                 0x080
#define PAGE_TABLE              0x067   /* present, rw, user, accessed, dirty */

/* Offsets in boot_params ("the zero page") at guest-physical 0. */
#define BOOT_CMD_LINE_PTR       0x228
#define BOOT_E820_MAP           0x2d0   /* the Launcher writes one entry: RAM */

/* Offsets in struct lguest_data, for assembly. */
#define LGUEST_DATA_irq_enabled 0
#define LGUEST_DATA_pgdir       1116

#ifndef __ASSEMBLER__

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long s64;

/* struct lguest_data: 1136 bytes, shared with the host. */
struct lguest_data {
        u32 irq_enabled;                /* 0 or X86_EFLAGS_IF: the guest's cli/sti */
        u32 blocked_interrupts;         /* a bit per irq the guest does not want */
        u32 cr2;                        /* the host puts a page fault's address here */
        u32 time_sec, time_nsec;        /* wall clock, refreshed by the host */
        u8  hcall_status[64];           /* 0: queued for the host, 0xFF: done */
        u32 hcalls[64][4];              /* eax, ebx, ecx, edx: number, arg2, arg3, arg1 */
        u32 reserve_mem;
        u32 tsc_khz;
        u32 pgdir;                      /* the Launcher's page directory */
        u32 noirq_start, noirq_end;     /* never interrupt the guest in here */
        u32 kernel_address;
        u32 syscall_vec;
};

/*
 * A hypercall: number in eax, arguments in edx, ebx, ecx; int $0x1f traps to the
 * host, which leaves its answer in eax.
 */
static inline u32 hcall(u32 call, u32 arg1, u32 arg2, u32 arg3)
{
        __asm__ __volatile__("int $0x1f"
                             : "+a"(call)
                             : "d"(arg1), "b"(arg2), "c"(arg3)
                             : "memory");
        return call;
}

#endif /* __ASSEMBLER__ */
#endif
