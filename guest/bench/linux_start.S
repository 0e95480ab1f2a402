/* Process entry of the Linux build: hand the initial stack (argc, argv) to C. */
        .text
        .globl  _start
_start:
        movl    %esp, %eax
        andl    $-16, %esp
        pushl   %eax
        call    linux_main
        hlt
        .section .note.GNU-stack, "", @progbits
