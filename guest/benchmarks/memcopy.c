/*
 * memcopy: memory copied and filled 4 bytes at a time with rep movsl / rep stosl (as
 * the kernel's and C libraries' memcpy and memset do on i686), and one byte at a
 * time by a plain C loop, over buffers larger than a cache.
 */
#include "rt.h"

#define BUFFER (1 << 20)
static u32 source[BUFFER / 4], target[BUFFER / 4];

static void copy_words(void *to, const void *from, u32 bytes)
{
        u32 d0, d1, d2;
        __asm__ __volatile__("rep movsl" : "=&c"(d0), "=&D"(d1), "=&S"(d2)
                             : "0"(bytes / 4), "1"(to), "2"(from) : "memory");
}

static void fill_words(void *to, u32 value, u32 bytes)
{
        u32 d0, d1;
        __asm__ __volatile__("rep stosl" : "=&c"(d0), "=&D"(d1)
                             : "0"(bytes / 4), "1"(to), "a"(value) : "memory");
}

static void copy_bytes(volatile unsigned char *to, const unsigned char *from, u32 bytes)
{
        for (u32 i = 0; i < bytes; i++)
                to[i] = from[i];
}

int bench_main(int argc, char **argv)
{
        u32 scale = bench_scale(argc, argv), sum = 0;
        for (u32 i = 0; i < BUFFER / 4; i++)
                source[i] = i * 2654435761u;
        bench_start();
        for (u32 round = 0; round < 100 * scale; round++) {
                copy_words(target, source, BUFFER);
                sum += target[(round * 4099) % (BUFFER / 4)];
                fill_words(target, round, BUFFER);
                sum ^= target[(round * 131) % (BUFFER / 4)];
                if (round % 6 == 0) {
                        copy_bytes((unsigned char *)target, (const unsigned char *)source, BUFFER);
                        sum += target[(round * 7) % (BUFFER / 4)];
                }
        }
        bench_report("memcopy", sum);
        return 0;
}
