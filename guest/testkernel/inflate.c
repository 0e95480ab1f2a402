/*
 * A small inflate (RFC 1951) and the gzip wrapper around it (RFC 1952), so that the
 * initrd may be a gzip'ed cpio archive as Linux's usually is.
 *
 * The decoder is the plain canonical-Huffman one: a code is read a bit at a time and
 * compared with the first code of each length, which needs only the count of codes
 * per length and the symbols in code order. That is slow next to a table decoder
 * but small and obviously right, and an initrd is inflated once, at boot.
 */
#include "kernel.h"
#include "initrd.h"

#define MAX_BITS        15
#define MAX_LITERALS    288
#define MAX_DISTANCES   30

struct huffman {
        u16 count[MAX_BITS + 1];        /* how many codes of each length */
        u16 symbol[MAX_LITERALS];       /* the symbols, shortest codes first */
};

struct inflater {
        const u8 *in, *in_end;
        u32 bits, bit_count;
        u8 *out;
        u32 out_size, out_at;
        int broken;                     /* ran off the input or the output */
};

static u32 take_bits(struct inflater *s, u32 n)
{
        while (s->bit_count < n) {
                if (s->in == s->in_end) {
                        s->broken = 1;
                        return 0;
                }
                s->bits |= (u32)*s->in++ << s->bit_count;
                s->bit_count += 8;
        }
        u32 value = s->bits & ((1u << n) - 1);
        s->bits >>= n;
        s->bit_count -= n;
        return value;
}

/* Deflate sends code lengths; the codes follow from them (RFC 1951, 3.2.2). */
static int build_huffman(struct huffman *h, const u8 *lengths, u32 n)
{
        u16 offsets[MAX_BITS + 2];
        memset(h->count, 0, sizeof(h->count));
        for (u32 i = 0; i < n; i++)
                h->count[lengths[i]]++;
        h->count[0] = 0;
        offsets[1] = 0;
        for (u32 len = 1; len <= MAX_BITS; len++)
                offsets[len + 1] = offsets[len] + h->count[len];
        for (u32 i = 0; i < n; i++)
                if (lengths[i])
                        h->symbol[offsets[lengths[i]]++] = i;
        return 0;
}

/* Huffman codes are sent most significant bit first, unlike everything else. */
static int decode_symbol(struct inflater *s, const struct huffman *h)
{
        int code = 0, first = 0, index = 0;
        for (u32 len = 1; len <= MAX_BITS; len++) {
                code |= take_bits(s, 1);
                int count = h->count[len];
                if (code - first < count)
                        return h->symbol[index + code - first];
                index += count;
                first = (first + count) << 1;
                code <<= 1;
        }
        s->broken = 1;
        return -1;
}

static const u16 length_base[29] = {
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
        35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const u8 length_extra[29] = {
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const u16 distance_base[30] = {
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
        257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577 };
static const u8 distance_extra[30] = {
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };

static int inflate_codes(struct inflater *s, const struct huffman *literals, const struct huffman *distances)
{
        for (;;) {
                int symbol = decode_symbol(s, literals);
                if (s->broken)
                        return -1;
                if (symbol < 256) {
                        if (s->out_at == s->out_size)
                                return -1;
                        s->out[s->out_at++] = symbol;
                } else if (symbol == 256) {
                        return 0;
                } else {
                        symbol -= 257;
                        if (symbol >= 29)
                                return -1;
                        u32 length = length_base[symbol] + take_bits(s, length_extra[symbol]);
                        int d = decode_symbol(s, distances);
                        if (d < 0 || d >= 30)
                                return -1;
                        u32 distance = distance_base[d] + take_bits(s, distance_extra[d]);
                        if (s->broken || distance > s->out_at || length > s->out_size - s->out_at)
                                return -1;
                        /* The copy may overlap what it writes: byte by byte on purpose. */
                        for (u32 i = 0; i < length; i++, s->out_at++)
                                s->out[s->out_at] = s->out[s->out_at - distance];
                }
        }
}

static int inflate_stored(struct inflater *s)
{
        s->bits = 0;
        s->bit_count = 0;               /* stored blocks start on a byte boundary */
        if (s->in_end - s->in < 4)
                return -1;
        u32 len = s->in[0] | s->in[1] << 8;
        u32 inverse = s->in[2] | s->in[3] << 8;
        s->in += 4;
        if ((len ^ 0xffff) != inverse || len > (u32)(s->in_end - s->in) || len > s->out_size - s->out_at)
                return -1;
        memcpy(s->out + s->out_at, s->in, len);
        s->in += len;
        s->out_at += len;
        return 0;
}

static struct huffman literal_codes, distance_codes;

static int inflate_fixed(struct inflater *s)
{
        u8 lengths[MAX_LITERALS];
        u32 i = 0;
        for (; i < 144; i++) lengths[i] = 8;
        for (; i < 256; i++) lengths[i] = 9;
        for (; i < 280; i++) lengths[i] = 7;
        for (; i < 288; i++) lengths[i] = 8;
        build_huffman(&literal_codes, lengths, 288);
        for (i = 0; i < 30; i++) lengths[i] = 5;
        build_huffman(&distance_codes, lengths, 30);
        return inflate_codes(s, &literal_codes, &distance_codes);
}

/* The code lengths themselves come Huffman-coded, in this odd order. */
static const u8 code_length_order[19] = { 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15 };

static int inflate_dynamic(struct inflater *s)
{
        u8 lengths[MAX_LITERALS + MAX_DISTANCES];
        u32 literal_count = take_bits(s, 5) + 257;
        u32 distance_count = take_bits(s, 5) + 1;
        u32 length_count = take_bits(s, 4) + 4;
        if (literal_count > 286 || distance_count > 30)
                return -1;
        memset(lengths, 0, 19);
        for (u32 i = 0; i < length_count; i++)
                lengths[code_length_order[i]] = take_bits(s, 3);
        struct huffman length_codes;
        build_huffman(&length_codes, lengths, 19);
        for (u32 i = 0; i < literal_count + distance_count;) {
                int symbol = decode_symbol(s, &length_codes);
                if (s->broken || symbol < 0)
                        return -1;
                if (symbol < 16) {
                        lengths[i++] = symbol;
                        continue;
                }
                u32 repeat, value = 0;
                if (symbol == 16) {
                        if (i == 0)
                                return -1;
                        value = lengths[i - 1];
                        repeat = 3 + take_bits(s, 2);
                } else if (symbol == 17) {
                        repeat = 3 + take_bits(s, 3);
                } else {
                        repeat = 11 + take_bits(s, 7);
                }
                if (i + repeat > literal_count + distance_count)
                        return -1;
                while (repeat--)
                        lengths[i++] = value;
        }
        build_huffman(&literal_codes, lengths, literal_count);
        build_huffman(&distance_codes, lengths + literal_count, distance_count);
        return inflate_codes(s, &literal_codes, &distance_codes);
}

int inflate(const u8 *in, u32 in_size, u8 *out, u32 out_size, u32 *out_length)
{
        struct inflater s = { .in = in, .in_end = in + in_size, .out = out, .out_size = out_size };
        u32 last;
        do {
                last = take_bits(&s, 1);
                u32 type = take_bits(&s, 2);
                int result = -1;
                if (s.broken)
                        return -1;
                if (type == 0)
                        result = inflate_stored(&s);
                else if (type == 1)
                        result = inflate_fixed(&s);
                else if (type == 2)
                        result = inflate_dynamic(&s);
                if (result < 0 || s.broken)
                        return -1;
        } while (!last);
        *out_length = s.out_at;
        return 0;
}

u32 crc32(const u8 *data, u32 length)
{
        u32 crc = 0xffffffff;
        for (u32 i = 0; i < length; i++) {
                crc ^= data[i];
                for (int bit = 0; bit < 8; bit++)
                        crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
        }
        return ~crc;
}

#define GZIP_FHCRC      0x02
#define GZIP_FEXTRA     0x04
#define GZIP_FNAME      0x08
#define GZIP_FCOMMENT   0x10

int is_gzip(const u8 *data, u32 size)
{
        return size >= 18 && data[0] == 0x1f && data[1] == 0x8b && data[2] == 8;
}

/* The header's optional parts, the deflate stream, then CRC-32 and length (mod 2^32). */
int gunzip(const u8 *data, u32 size, u8 **out, u32 *out_length)
{
        if (!is_gzip(data, size))
                return -1;
        u8 flags = data[3];
        u32 at = 10;
        if (flags & GZIP_FEXTRA)
                at += 2 + (data[at] | data[at + 1] << 8);
        if (flags & GZIP_FNAME)
                while (at < size && data[at++])
                        ;
        if (flags & GZIP_FCOMMENT)
                while (at < size && data[at++])
                        ;
        if (flags & GZIP_FHCRC)
                at += 2;
        if (at + 8 > size)
                return -1;
        const u8 *trailer = data + size - 8;
        u32 want_crc = trailer[0] | trailer[1] << 8 | trailer[2] << 16 | (u32)trailer[3] << 24;
        u32 want_size = trailer[4] | trailer[5] << 8 | trailer[6] << 16 | (u32)trailer[7] << 24;
        u8 *buffer = va(pages_alloc_contiguous((want_size + PAGE_SIZE - 1) / PAGE_SIZE));
        if (inflate(data + at, size - 8 - at, buffer, want_size, out_length) < 0)
                return -1;
        if (*out_length != want_size || crc32(buffer, want_size) != want_crc)
                return -2;
        *out = buffer;
        return 0;
}
