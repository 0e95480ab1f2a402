/*
 * Where the hostile guest begins: entered like any lguest guest, at ring 1 on the
 * Launcher's 1:1 page tables, %esi pointing at boot_params. It sets up a stack and
 * hands boot_params to C, which picks the attack from the command line.
 */
        .section .text.entry, "ax"
        .globl  _start
_start:
        movl    $stack_top, %esp
        pushl   %esi
        call    guest_main
        /* guest_main ends with a hypercall that kills us; never come back here. */
1:      jmp     1b

        .section .bss
        .balign 16
        .space  8192
stack_top:

        .section .note.GNU-stack, "", @progbits
