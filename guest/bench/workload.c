/*
 * A CPU-bound workload for measuring the emulated CPU against the real one: CRC32
 * over a buffer, a sort, and a small run-length compression loop, the kind of
 * integer work a kernel and its programs do all day. It is plain C with no library
 * calls, so the same source is built three ways and the same machine code runs on
 * the real CPU, under qemu-i386 and on the interpreter.
 *
 * workload(rounds) returns a checksum of everything it computed, so every runner can
 * prove it did the same work.
 */
#include "workload.h"

#define BUFFER_BYTES 16384
#define SORT_WORDS   2048

static u32 crc_table[256];
static unsigned char buffer[BUFFER_BYTES];
static unsigned char packed[BUFFER_BYTES * 2];
static u32 words[SORT_WORDS];

static void make_crc_table(void)
{
        for (u32 n = 0; n < 256; n++) {
                u32 c = n;
                for (int k = 0; k < 8; k++)
                        c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
                crc_table[n] = c;
        }
}

static u32 crc32(const unsigned char *p, u32 len)
{
        u32 c = 0xffffffffu;
        while (len--)
                c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
        return c ^ 0xffffffffu;
}

/* A shell sort: data-dependent branches and indexed loads and stores. */
static void sort(u32 *a, u32 n)
{
        static const u32 gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
        for (u32 g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
                u32 gap = gaps[g];
                for (u32 i = gap; i < n; i++) {
                        u32 v = a[i], j = i;
                        while (j >= gap && a[j - gap] > v) {
                                a[j] = a[j - gap];
                                j -= gap;
                        }
                        a[j] = v;
                }
        }
}

/* Run-length encoding: byte loads, compares and stores. Returns the packed length. */
static u32 pack(const unsigned char *in, u32 len, unsigned char *out)
{
        u32 o = 0;
        for (u32 i = 0; i < len;) {
                unsigned char b = in[i];
                u32 run = 1;
                while (i + run < len && in[i + run] == b && run < 255)
                        run++;
                out[o++] = (unsigned char)run;
                out[o++] = b;
                i += run;
        }
        return o;
}

u32 workload(u32 rounds)
{
        u32 seed = 0x2545f491u, sum = 0;
        make_crc_table();
        for (u32 r = 0; r < rounds; r++) {
                /* Fill with runs of varying length so packing has work to do. */
                for (u32 i = 0; i < BUFFER_BYTES; i++) {
                        seed = seed * 1664525u + 1013904223u;
                        buffer[i] = (seed >> 28) < 3 ? (unsigned char)(seed >> 20) : buffer[i ? i - 1 : 0];
                }
                sum ^= crc32(buffer, BUFFER_BYTES);
                for (u32 i = 0; i < SORT_WORDS; i++) {
                        seed = seed * 1664525u + 1013904223u;
                        words[i] = seed;
                }
                sort(words, SORT_WORDS);
                sum = (sum << 3 | sum >> 29) ^ words[r % SORT_WORDS] ^ words[SORT_WORDS / 2];
                sum += pack(buffer, BUFFER_BYTES, packed);
                sum ^= crc32(packed, 64);
        }
        return sum;
}
