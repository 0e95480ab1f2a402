/*
 * The slice of the lguest 2.6.24 guest ABI the virtio probe uses: hypercalls,
 * struct lguest_data, the boot_params offsets, and the page table bits it needs to
 * map the device pages, which lie above RAM where the Launcher's tables do not reach.
 */
#ifndef LGUEST_ABI_H
#define LGUEST_ABI_H

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef unsigned long long u64;

#define LHCALL_LGUEST_INIT   1
#define LHCALL_CRASH         2
#define LHCALL_SET_PTE       14
#define LHCALL_SET_PMD       15
#define LHCALL_NOTIFY        17

#define SYSCALL_VECTOR       0x80
#define PAGE_SIZE            4096
/* Present, writable, user: what the Launcher's own tables use. */
#define PAGE_PRESENT         0x7

/* Offsets in boot_params (the "zero page") at guest-physical 0. */
#define BOOT_E820_MAP        0x2d0

/* struct lguest_data: 1136 bytes, shared with the host. */
struct lguest_data {
        u32 irq_enabled;
        u32 blocked_interrupts;
        u32 cr2;
        u32 time_sec, time_nsec;
        u8  hcall_status[64];
        u32 hcalls[64][4];
        u32 reserve_mem;
        u32 tsc_khz;
        u32 pgdir;
        u32 noirq_start, noirq_end;
        u32 kernel_address;
        u32 syscall_vec;
};

/* A hypercall: number in eax, arguments in edx, ebx, ecx; int $0x1f traps to the host. */
static inline void hcall(u32 call, u32 arg1, u32 arg2, u32 arg3)
{
        __asm__ __volatile__("int $0x1f"
                             : "+a"(call)
                             : "d"(arg1), "b"(arg2), "c"(arg3)
                             : "memory");
}

#endif
