/*
 * intloop: loop-heavy integer code, the kind a compiler makes of tight C loops: a
 * sieve of Eratosthenes over a byte array, a bitwise CRC-32 (shifts, xors, a branch
 * per bit), and a hash mixing multiplications, rotations and divisions.
 */
#include "rt.h"

#define SIEVE_SIZE 200000
static unsigned char composite[SIEVE_SIZE];

static u32 sieve(void)
{
        u32 primes = 0;
        for (u32 i = 0; i < SIEVE_SIZE; i++)
                composite[i] = 0;
        for (u32 i = 2; i < SIEVE_SIZE; i++) {
                if (composite[i])
                        continue;
                primes++;
                for (u32 j = i + i; j < SIEVE_SIZE; j += i)
                        composite[j] = 1;
        }
        return primes;
}

static u32 crc32(const unsigned char *data, u32 length, u32 crc)
{
        crc = ~crc;
        for (u32 i = 0; i < length; i++) {
                crc ^= data[i];
                for (int bit = 0; bit < 8; bit++)
                        crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
        }
        return ~crc;
}

static u32 mix(u32 rounds)
{
        u32 a = 0x12345678, b = 0x9abcdef1, c = 7;
        for (u32 i = 0; i < rounds; i++) {
                a = a * 1664525u + 1013904223u;
                b ^= (a << 7) | (a >> 25);
                c += b / ((a & 0xff) + 1) + b % 97;
        }
        return a ^ b ^ c;
}

int bench_main(int argc, char **argv)
{
        u32 scale = bench_scale(argc, argv), sum = 0;
        bench_start();
        for (u32 round = 0; round < 15 * scale; round++) {
                sum += sieve();
                sum = crc32(composite, SIEVE_SIZE, sum);
                sum ^= mix(400000);
        }
        bench_report("intloop", sum);
        return 0;
}
