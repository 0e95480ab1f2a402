/*
 * The slice of the lguest 2.6.24 guest ABI the demo guest uses: the hypercall
 * numbers, struct lguest_data, and the boot_params offsets the Launcher fills in.
 * (The whole ABI is described in shared/lguest-2.6.24-abi.md.)
 */
#ifndef LGUEST_ABI_H
#define LGUEST_ABI_H

typedef unsigned int u32;
typedef unsigned char u8;

#define LHCALL_LGUEST_INIT   1
#define LHCALL_CRASH         2
#define LHCALL_NOTIFY        17

#define LGUEST_TRAP_ENTRY    0x1f
#define SYSCALL_VECTOR       0x80

/* Offsets in boot_params (the "zero page") at guest-physical 0. */
#define BOOT_CMD_LINE_PTR    0x228

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
