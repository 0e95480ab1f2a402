/* Process entry: hand the initial stack (argc, argv, envp, auxv) to C. */
        .text
        .globl  _start
_start:
        movl    %esp, %eax
        andl    $-16, %esp
        pushl   %eax
        call    program_main
        hlt
        .section .note.GNU-stack, "", @progbits
