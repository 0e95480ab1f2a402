/*
 * The checksum the demo guest and the checksum program compute: a loop that keeps a
 * CPU busy with ordinary integer work (a linear congruential generator feeding
 * rotates, xors and a small table in memory). One definition, so that the bare guest
 * and the Linux program give the same number for the same rounds, and the host-side
 * tests compute it once (itests Guests.checksum) to check either.
 */
#ifndef CHECKSUM_H
#define CHECKSUM_H

static unsigned int checksum_table[256];

static unsigned int checksum(unsigned int rounds)
{
        unsigned int x = 0x12345678, sum = 0;
        for (unsigned int i = 0; i < 256; i++)
                checksum_table[i] = i * 0x9e3779b9u;
        for (unsigned int i = 0; i < rounds; i++) {
                x = x * 1103515245u + 12345u;
                unsigned int slot = (x >> 16) & 0xff;
                checksum_table[slot] ^= x;
                sum = ((sum << 5) | (sum >> 27)) ^ checksum_table[slot] ^ i;
        }
        return sum;
}

#endif
