/*
 * Where the demo guest begins. The Launcher enters us the way lguest 2.6.24 enters
 * a Linux guest: at ring 1 (cs 0x61, ds/es/ss 0x69), paging already on through the
 * Launcher's 1:1 page tables, with %esi pointing at boot_params (physical 0). We only
 * need a stack before C can run; boot_params goes to C as its argument.
 */
        .section .text.entry, "ax"
        .globl  _start
_start:
        movl    $stack_top, %esp
        pushl   %esi
        call    guest_main
        /* guest_main powers off with a hypercall and never returns; if the host let
         * it, spinning here is the safest thing a guest can do. */
1:      jmp     1b

        .section .bss
        .balign 16
        .space  8192
stack_top:

        /* No executable stack wanted. */
        .section .note.GNU-stack, "", @progbits
