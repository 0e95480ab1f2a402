/*
 * Ring-3 processes for program mode: static i386 Linux ELF programs from the initrd,
 * each in an address space of its own, talking to us with Linux system calls.
 */
#ifndef TESTKERNEL_PROCESS_H
#define TESTKERNEL_PROCESS_H

#include "kernel.h"

/* Where Linux i386 puts things: the stack below PAGE_OFFSET, mmap from 1 GiB. */
#define PROCESS_STACK_TOP       PAGE_OFFSET
#define PROCESS_STACK_SIZE      0x00800000
#define PROCESS_MMAP_BASE       0x40000000
#define PROCESS_MAX_AREAS       48

/* A range of user addresses that faults in on demand: zeroes, or bytes of a file. */
struct area {
        u32 start, end;                 /* page-aligned */
        int writable, accessible;
        const u8 *file;                 /* file bytes for [file_address, +file_size) */
        u32 file_address, file_size;
};

struct process {
        const char *name;
        u32 pid;
        u32 *pgdir;
        struct area areas[PROCESS_MAX_AREAS];
        int area_count;
        u32 brk_start, brk;
        struct trap_frame frame;        /* its registers while it is not running */
        int exited;
        u32 exit_code;
};

extern struct process *current_process;

/* Loads an ELF program; 0 and a reason in *why if it cannot. */
struct process *process_from_elf(const char *name, const u8 *elf, u32 size,
                                 int argc, const char *const *argv, const char **why);
/* A process running the kernel's own .user code at USER_CODE, from `entry`, with ebx. */
struct process *process_from_builtin(const char *name, const char *entry, u32 ebx);
/* An anonymous demand-zero area, for the page fault benchmark. */
int process_add_zero_area(struct process *p, u32 start, u32 size);
/* Runs these processes until all have exited (sched_yield switches between them). */
void process_run(struct process **processes, int count);
void process_destroy(struct process *p);

/* From trap_dispatch while a process runs. */
void linux_system_call(struct trap_frame *f);
void process_trap(struct trap_frame *f, u32 cr2);

/* Where read(0) takes its bytes: nothing (the default), a file, or the console. */
void process_set_stdin_file(const u8 *data, u32 size);
void process_set_stdin_console(void);

/* Counters the benchmarks read. */
extern volatile u32 process_faults, context_switches;

#endif
