/*
 * checksum: a CPU-bound Linux program with an answer known in advance. It runs the
 * demo guest's checksum loop (guest/include/checksum.h) for the rounds given and
 * prints "checksum 0x%08x", the number the host computes the same way: a wrong
 * register, flag or memory word anywhere in millions of rounds changes it. The swap
 * tests run it under the Linux guest while its host components are replaced.
 *
 * Usage: checksum ROUNDS
 */
#include "linux.h"
#include "checksum.h"

void program_main(u32 *stack)
{
        u32 argc = stack[0];
        if (argc < 2) {
                put("usage: checksum ROUNDS\n");
                leave(2);
        }
        u32 sum = checksum(number((const char *)stack[2]));
        /* One write, so that the line never interleaves with another program's. */
        char line[] = "checksum 0x00000000\n";
        for (int i = 0; i < 8; i++)
                line[11 + i] = "0123456789abcdef"[(sum >> (28 - 4 * i)) & 0xf];
        syscall3(NR_write, 1, (u32)line, sizeof(line) - 1);
        leave(0);
}
