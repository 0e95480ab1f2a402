/*
 * Entry of the bare build that the CPU benchmark runs on the interpreter directly:
 * no kernel, no Launcher, just the CPU. The harness puts the number of rounds in
 * %eax and a stack in %esp; we run the workload and hand the checksum back in %eax
 * with int $0x1f, a vector the harness routes to itself.
 */
        .text
        .globl  _start
_start:
        pushl   %eax
        call    workload
        addl    $4, %esp
        int     $0x1f
1:      jmp     1b
        .section .note.GNU-stack, "", @progbits
