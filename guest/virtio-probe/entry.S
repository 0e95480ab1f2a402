/*
 * Where the virtio probe begins: entered like a Linux guest at ring 1 with paging on
 * (the Launcher's 1:1 tables) and %esi pointing at boot_params. It sets up a stack
 * and hands boot_params to C.
 */
        .section .text.entry, "ax"
        .globl  _start
_start:
        movl    $stack_top, %esp
        pushl   %esi
        call    probe_main
        /* probe_main powers off or crashes with a hypercall; it never returns. */
1:      jmp     1b

        .section .bss
        .balign 16
        .space  8192
stack_top:

        .section .note.GNU-stack, "", @progbits
