/*
 * The assembly half of the test kernel: how it starts, how traps and interrupts come
 * in, how it returns from them, and how it goes to ring 3 and back.
 *
 * We start the way Linux starts under lguest: at our physical entry point (the
 * Launcher loads us at 1 MiB but we are linked at 0xC0100000), at ring 1, with paging
 * on through the Launcher's page tables which map RAM 1:1. Until we jump to our high
 * addresses, every data reference must subtract PAGE_OFFSET.
 */
#include "lguest.h"

        .section .text.entry, "ax"
        .globl  lguest_entry
lguest_entry:
        /* Hello, host: here is our lguest_data. Its guest-set fields (noirq range,
         * kernel address, syscall vector) are already filled in by its initializer. */
        movl    %esi, %ebp                      /* boot_params, for kernel_main */
        movl    $LHCALL_LGUEST_INIT, %eax
        movl    $lguest_data - PAGE_OFFSET, %edx
        int     $LGUEST_TRAP_ENTRY

        /* The host told us its page directory. Copy its first 32 entries (128 MiB)
         * up to the 0xC0000000 slot so that our linked addresses work too. */
        movl    lguest_data - PAGE_OFFSET + LGUEST_DATA_pgdir, %esi
        movl    %esi, %edi
        addl    $((PAGE_OFFSET >> 22) * 4), %edi
        movl    $32, %ecx
        cld
        rep movsl

        movl    $boot_stack_top, %esp
        pushl   %ebp
        /* An absolute jump: a relative one would stay at the low addresses. */
        movl    $kernel_main, %eax
        call    *%eax
1:      jmp     1b

/*
 * Returning from a trap or interrupt, as Linux's lguest_iret does. The real iret
 * cannot restore the interrupt flag for us (it is the host's, and stays on), so we
 * copy the EFLAGS being returned to into lguest_data.irq_enabled first. From that
 * store until the iret has finished we would be interrupted with interrupts looking
 * enabled but the old frame still on the stack: the host promises never to
 * interrupt between lguest_noirq_start and lguest_noirq_end. The %ss: prefix is
 * because %ds may already be the user's.
 */
        .text
        .globl  lguest_iret, lguest_noirq_start, lguest_noirq_end
lguest_iret:
        pushl   %eax
        movl    12(%esp), %eax
lguest_noirq_start:
        movl    %eax, %ss:lguest_data + LGUEST_DATA_irq_enabled
        popl    %eax
        .globl  lguest_noirq_iret
lguest_noirq_iret:
        iret
lguest_noirq_end:

/*
 * Trap and interrupt entry. Every vector gets a stub that makes the frame uniform
 * (an error code, 0 if the CPU pushed none, then the vector number) and jumps to
 * the common path, which saves the rest and calls trap_dispatch(frame) in C.
 */
#define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17)

        .macro  stub vector
        .balign 8
vector_\vector:
        .if     HAS_ERROR_CODE(\vector)
        .else
        pushl   $0
        .endif
        pushl   $\vector
        jmp     trap_common
        .endm

        .irp    v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19
        stub    \v
        .endr
        .irp    v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
        stub    \v
        .endr
        .irp    v, 48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63
        stub    \v
        .endr
        stub    128

        /* A second breakpoint handler, for the test that re-points vector 3. */
        .globl  vector_alternate_breakpoint
vector_alternate_breakpoint:
        pushl   $0
        pushl   $0x103
        jmp     trap_common

trap_common:
        pushal
        pushl   %ds
        pushl   %es
        pushl   %fs
        pushl   %gs
        movl    $KERNEL_DS, %eax
        movl    %eax, %ds
        movl    %eax, %es
        pushl   %esp
        call    trap_dispatch
        addl    $4, %esp
        popl    %gs
        popl    %fs
        popl    %es
        popl    %ds
        popal
        addl    $8, %esp
        jmp     lguest_iret

        .section .rodata
        .balign 4
        .globl  exception_stubs, irq_stubs, syscall_stub
exception_stubs:
        .irp    v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19
        .long   vector_\v
        .endr
irq_stubs:
        .irp    v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
        .long   vector_\v
        .endr
        .irp    v, 48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63
        .long   vector_\v
        .endr
syscall_stub:
        .long   vector_128

/*
 * u32 enter_user(u32 eip, u32 esp, u32 eflags, u32 ebx, u32 frame_stack)
 *
 * Runs user code at ring 3 until it makes the exit system call, and returns the
 * value it exited with. We go there the way Linux returns to user space: an iret
 * frame {eip, cs, eflags, esp, ss} through lguest_iret. The frame is built on our
 * stack, or at frame_stack if that is not 0 (the no-interrupt test needs the frame
 * to straddle a page boundary). If noirq_unmap_va is set we also make the host
 * forget its mapping of that page just before the iret, with SET_PTE.
 * leave_user() comes back here from the exit system call.
 */
        .text
        .globl  enter_user, leave_user
enter_user:
        pushl   %ebp
        pushl   %ebx
        pushl   %esi
        pushl   %edi
        movl    %esp, kernel_resume_esp
        movl    %esp, %ebp
        movl    36(%ebp), %eax
        testl   %eax, %eax
        jz      1f
        movl    %eax, %esp
1:      pushl   $USER_DS
        pushl   24(%ebp)
        pushl   28(%ebp)
        pushl   $USER_CS
        pushl   20(%ebp)
        movl    noirq_unmap_va, %ebx
        testl   %ebx, %ebx
        jz      2f
        movl    $LHCALL_SET_PTE, %eax
        movl    noirq_unmap_pgdir, %edx
        movl    noirq_unmap_pte, %ecx
        int     $LGUEST_TRAP_ENTRY
2:      movl    32(%ebp), %ebx
        xorl    %ecx, %ecx
        xorl    %edx, %edx
        xorl    %esi, %esi
        xorl    %edi, %edi
        xorl    %ebp, %ebp
        movl    $USER_DS, %eax
        movl    %eax, %ds
        movl    %eax, %es
        xorl    %eax, %eax
        movl    %eax, %fs
        movl    %eax, %gs
        jmp     lguest_iret

/* void leave_user(u32 value): back to enter_user's caller, on the kernel stack. */
leave_user:
        movl    4(%esp), %eax
        movl    kernel_resume_esp, %esp
        movl    $KERNEL_DS, %edx
        movl    %edx, %ds
        movl    %edx, %es
        popl    %edi
        popl    %esi
        popl    %ebx
        popl    %ebp
        ret

/*
 * The user programs. They are mapped read-only at USER_CODE in user space, so they
 * must not depend on where they are linked: only relative jumps, and addresses come
 * in registers. Each ends with the exit system call, its value in %ebx.
 */
        .section .user, "ax"
        .globl  user_exit, user_push, user_cow, user_read_kernel, user_hypercall, user_spin
/* exit(ebx): the shortest trip to ring 3 and back. */
user_exit:
        movl    $SYS_EXIT, %eax
        int     $SYSCALL_VECTOR
        ud2

/* Pushes onto a stack page nobody mapped yet, and exits with what it reads back. */
user_push:
        pushl   $0x5a5a5a5a
        movl    (%esp), %ebx
        movl    $SYS_EXIT, %eax
        int     $SYSCALL_VECTOR
        ud2

/* Writes to the copy-on-write page at ebx: reports (old, new) and exits. */
user_cow:
        movl    (%ebx), %ecx
        movl    $0xc0ffee, (%ebx)
        movl    (%ebx), %edx
        movl    $SYS_REPORT, %eax
        int     $SYSCALL_VECTOR
        movl    $SYS_EXIT, %eax
        movl    $1, %ebx
        int     $SYSCALL_VECTOR
        ud2

/* Reads kernel memory at ebx: the kernel must end us instead. */
user_read_kernel:
        movl    (%ebx), %ebx
        movl    $SYS_EXIT, %eax
        int     $SYSCALL_VECTOR
        ud2

/* Tries a hypercall from ring 3: the kernel must end us instead. */
user_hypercall:
        movl    $LHCALL_CRASH, %eax
        int     $LGUEST_TRAP_ENTRY
        movl    $SYS_EXIT, %eax
        int     $SYSCALL_VECTOR
        ud2

/* Spins ebx times (so a timer can interrupt ring 3), then exits with 0. */
user_spin:
1:      decl    %ebx
        jnz     1b
        movl    $SYS_EXIT, %eax
        int     $SYSCALL_VECTOR
        ud2

/*
 * Ring-3 loops for benchmark mode, run as Linux processes (process.c): ebx is the
 * count, and each ends with exit(0). They are mapped at USER_CODE like the others.
 */
        .globl  user_getpid_loop, user_touch_pages, user_yield_loop
/* ebx getpid system calls. */
user_getpid_loop:
        movl    %ebx, %esi
1:      movl    $20, %eax
        int     $SYSCALL_VECTOR
        decl    %esi
        jnz     1b
        jmp     2f
/* Writes to ebx fresh pages from BENCHMARK_TOUCH_AREA up: one page fault each. */
user_touch_pages:
        movl    $BENCHMARK_TOUCH_AREA, %edx
1:      movl    %ebx, (%edx)
        addl    $PAGE_SIZE, %edx
        decl    %ebx
        jnz     1b
        jmp     2f
/* ebx sched_yield system calls: with two of these running, each is a switch. */
user_yield_loop:
        movl    %ebx, %esi
1:      movl    $158, %eax
        int     $SYSCALL_VECTOR
        decl    %esi
        jnz     1b
2:      movl    $1, %eax
        xorl    %ebx, %ebx
        int     $SYSCALL_VECTOR
        ud2

        .section .bss
        .balign 4
/* The kernel stack pointer enter_user saved, for leave_user. */
kernel_resume_esp:
        .space  4
        .balign 4096
        .globl  boot_stack_top
        .space  16384
boot_stack_top:

        .section .note.GNU-stack, "", @progbits
