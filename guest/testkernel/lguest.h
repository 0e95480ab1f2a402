/*
 * What the test kernel adds to the guest ABI (guest/include/lguest_abi.h: hypercall
 * numbers, struct lguest_data, the kernel selectors, page table bits): where it is
 * linked, Linux's whole GDT layout with the user segments, the interrupt vectors, and
 * its own system calls. Included by both C and assembly, so the C half is fenced off.
 */
#ifndef TESTKERNEL_LGUEST_H
#define TESTKERNEL_LGUEST_H

#include "lguest_abi.h"

/* We are linked here, like Linux, but loaded at 1 MiB physical. */
#define PAGE_OFFSET             0xC0000000

#define FIRST_IRQ_VECTOR        32
#define LGUEST_IRQS             32

/* Linux's GDT layout. The kernel's entries say DPL 0; the host runs them at ring 1. */
#define GDT_ENTRY_TLS_MIN       6
#define GDT_ENTRY_KERNEL_CS     12
#define GDT_ENTRY_KERNEL_DS     13
#define GDT_ENTRY_USER_CS       14
#define GDT_ENTRY_USER_DS       15
#define GDT_ENTRY_PERCPU        27
#define USER_CS                 ((GDT_ENTRY_USER_CS << 3) | 3)     /* 0x73 */
#define USER_DS                 ((GDT_ENTRY_USER_DS << 3) | 3)     /* 0x7b */
#define PERCPU_SEL              ((GDT_ENTRY_PERCPU << 3) | 1)
#define TLS_SEL                 ((GDT_ENTRY_TLS_MIN << 3) | 3)     /* 0x33 */

#define X86_EFLAGS_IF           0x200
#define X86_CR0_TS              8

/* Bit 9 of a pte is free for software: ours marks copy-on-write. */
#define PTE_COW                 0x200
#define PTE_FRAME               0xFFFFF000

/* Where benchmark mode's page fault loop writes (user space, demand-zero). */
#define BENCHMARK_TOUCH_AREA    0x60000000

/* Our system calls (eax at int $0x80 from ring 3). */
#define SYS_EXIT                1
#define SYS_REPORT              2

#ifndef __ASSEMBLER__

extern volatile struct lguest_data lguest_data;

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
