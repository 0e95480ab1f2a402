/*
 * Printing before there is any device, and reading the command line: what every one
 * of our small guests needs first. 2.6.24's early console is a NOTIFY hypercall whose
 * argument is a string in guest memory; the host prints at most 16 characters of it
 * at a time (NUL-terminated), so longer text goes in pieces, as Linux's does.
 */
#ifndef EARLY_CONSOLE_H
#define EARLY_CONSOLE_H

#include "lguest_abi.h"

static inline void early_print(const char *s)
{
        /* Static: the host reads it after the hypercall traps, from guest memory. */
        static char piece[17];
        while (*s) {
                unsigned len = 0;
                while (s[len] && len < sizeof(piece) - 1) {
                        piece[len] = s[len];
                        len++;
                }
                piece[len] = '\0';
                hcall(LHCALL_NOTIFY, (u32)piece, 0, 0);
                s += len;
        }
}

static inline void print_hex(u32 value)
{
        char digits[11];
        digits[0] = '0';
        digits[1] = 'x';
        for (int i = 0; i < 8; i++) {
                u32 nibble = (value >> (28 - 4 * i)) & 0xf;
                digits[2 + i] = nibble < 10 ? '0' + nibble : 'a' + nibble - 10;
        }
        digits[10] = '\0';
        early_print(digits);
}

/* Where "key" appears in the command line, pointing just past it; 0 if absent. */
static inline const char *cmdline_find(const char *cmdline, const char *key)
{
        for (const char *p = cmdline; *p; p++) {
                int k = 0;
                while (key[k] && p[k] == key[k])
                        k++;
                if (!key[k])
                        return p + k;
        }
        return 0;
}

#endif
