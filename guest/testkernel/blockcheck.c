/*
 * The virtio block write-and-verify workload: every sector of the disk written with
 * a pattern that changes with the pass, flushed, read back and compared, so that a
 * block device (or a component swapped under it) that drops, misplaces or stales a
 * write is caught, and the host can check what we saw against a CRC it computes.
 *
 *   mode=blockcheck blockcheck=N    "# blockcheck: S sectors, N passes" (or
 *                                   "passes until powered off" for N = 0; N is 1
 *                                   without blockcheck=), N passes, then
 *                                   "# blockcheck done: passed P failed F" and power
 *                                   off. Without a disk: "# blockcheck skipped: no
 *                                   block device" and power off.
 *   blockcheck=N in self-test mode  N passes (at least 1) as one TAP test in every
 *                                   pass of the self-test loop (selftest.c)
 *   hold-after-flush                mode=blockcheck only: after pass 1's flush print
 *                                   "# flushed" and halt for good, so the host can be
 *                                   killed with the data only on disk
 *
 * Output, one line per pass (always printed, even in a muted self-test pass):
 *
 *   # blockcheck pass K ok crc 0x%08x
 *   # blockcheck pass K not ok first bad sector S
 *   # blockcheck pass K not ok write error at sector S status X
 *   # blockcheck pass K not ok read error at sector S status X
 *   # blockcheck pass K not ok flush error status X
 *
 * (X is the status byte in decimal, or "none" if the request was not answered.)
 * K counts from 1 over the whole boot, so consecutive passes (also across self-test
 * passes) never write the same data: a write that did not happen cannot hide behind
 * the previous pass's. The CRC is the standard CRC-32 (IEEE 802.3, as zlib and
 * java.util.zip.CRC32) of the whole disk as read back, sector 0 first.
 *
 * THE PATTERN (the host side, itests' BlockPattern.java, computes the same): the
 * disk is 32-bit little-endian words; word w (0..127) of sector s (0-based, taken
 * mod 2^32) in pass p is
 *
 *   w == 0:  s
 *   w == 1:  p
 *   w >= 2:  mix(s * 0x85EBCA77 + p * 0x9E3779B1 + w * 0xC2B2AE3D)
 *
 * with all arithmetic mod 2^32 and mix(x) = x ^= x >> 16; x *= 0x7FEB352D;
 * x ^= x >> 15; x *= 0x846CA68B; x ^= x >> 16 (shifts unsigned). Word 1 is never 0,
 * so a read that leaves our zeroed buffer alone never passes for the data.
 */
#include "kernel.h"
#include "virtio.h"

#define CHUNK_SECTORS   128             /* 64 KiB per request */
#define WORDS_PER_SECTOR (SECTOR_SIZE / 4)

/* Physically contiguous because the kernel is: one data buffer per request. */
static u32 chunk[CHUNK_SECTORS * WORDS_PER_SECTOR] __attribute__((aligned(PAGE_SIZE)));
static u32 crc_table[256];
static u32 passes_run;

static u32 mix(u32 x)
{
        x ^= x >> 16;
        x *= 0x7FEB352Du;
        x ^= x >> 15;
        x *= 0x846CA68Bu;
        x ^= x >> 16;
        return x;
}

static void fill_sector(u32 *words, u32 sector, u32 pass)
{
        u32 x = sector * 0x85EBCA77u + pass * 0x9E3779B1u + 2 * 0xC2B2AE3Du;
        words[0] = sector;
        words[1] = pass;
        for (u32 w = 2; w < WORDS_PER_SECTOR; w++, x += 0xC2B2AE3Du)
                words[w] = mix(x);
}

static u32 crc32_update(u32 crc, const u8 *bytes, u32 len)
{
        if (!crc_table[1]) {
                for (u32 i = 0; i < 256; i++) {
                        u32 c = i;
                        for (int k = 0; k < 8; k++)
                                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                        crc_table[i] = c;
                }
        }
        for (u32 i = 0; i < len; i++)
                crc = crc_table[(crc ^ bytes[i]) & 0xff] ^ (crc >> 8);
        return crc;
}

/* The lines below must be heard whatever the self-test loop has muted. */
static int unmute(void)
{
        int muted = print_muted;
        print_muted = 0;
        return muted;
}

static void pass_line(u32 pass, const char *verdict)
{
        print("# blockcheck pass ");
        print_u32(pass);
        print(verdict);
}

/* "not ok <what> [at sector S] [status X]"; status -1 is a request nobody answered. */
static int fail(u32 pass, const char *what, u32 sector, int status)
{
        int muted = unmute();
        pass_line(pass, " not ok ");
        print(what);
        if (sector != (u32)-1) {
                print(" at sector ");
                print_u32(sector);
        }
        print(" status ");
        if (status < 0)
                print("none");
        else
                print_u32(status);
        print("\n");
        print_muted = muted;
        return 0;
}

/* One pass over the whole disk; 1 if every sector read back as written. */
static int blockcheck_pass(u32 pass, int hold_after_flush)
{
        u32 sectors = (u32)virtio_block.capacity;
        for (u32 at = 0; at < sectors; at += CHUNK_SECTORS) {
                u32 n = sectors - at < CHUNK_SECTORS ? sectors - at : CHUNK_SECTORS;
                for (u32 i = 0; i < n; i++)
                        fill_sector(chunk + i * WORDS_PER_SECTOR, at + i, pass);
                /* The last write is a barrier, 2.6.24's way to ask for durability. */
                u32 type = VIRTIO_BLK_T_OUT | (at + n == sectors ? VIRTIO_BLK_T_BARRIER : 0);
                int status = block_request(type, at, chunk, n * SECTOR_SIZE);
                if (status != VIRTIO_BLK_S_OK)
                        return fail(pass, "write error", at, status);
        }
        /* And the later kernels' FLUSH, so both ways to the disk are exercised. */
        int status = block_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0);
        if (status != VIRTIO_BLK_S_OK)
                return fail(pass, "flush error", (u32)-1, status);
        if (hold_after_flush) {
                unmute();
                print("# flushed\n");
                irq_disable();
                for (;;)
                        hcall(LHCALL_HALT, 0, 0, 0);
        }

        u32 crc = 0xFFFFFFFFu, first_bad = (u32)-1;
        static u32 want[WORDS_PER_SECTOR];
        for (u32 at = 0; at < sectors; at += CHUNK_SECTORS) {
                u32 n = sectors - at < CHUNK_SECTORS ? sectors - at : CHUNK_SECTORS;
                /* Zeroed first: what we wrote from this buffer must not pass for a read. */
                memset(chunk, 0, n * SECTOR_SIZE);
                status = block_request(VIRTIO_BLK_T_IN, at, chunk, n * SECTOR_SIZE);
                if (status != VIRTIO_BLK_S_OK)
                        return fail(pass, "read error", at, status);
                crc = crc32_update(crc, (const u8 *)chunk, n * SECTOR_SIZE);
                for (u32 i = 0; i < n && first_bad == (u32)-1; i++) {
                        fill_sector(want, at + i, pass);
                        const u32 *got = chunk + i * WORDS_PER_SECTOR;
                        for (u32 w = 0; w < WORDS_PER_SECTOR; w++)
                                if (got[w] != want[w]) {
                                        first_bad = at + i;
                                        break;
                                }
                }
        }
        int muted = unmute();
        if (first_bad != (u32)-1) {
                pass_line(pass, " not ok first bad sector ");
                print_u32(first_bad);
        } else {
                pass_line(pass, " ok crc ");
                print_hex(crc ^ 0xFFFFFFFFu);
        }
        print("\n");
        print_muted = muted;
        return first_bad == (u32)-1;
}

/*
 * Runs `count` passes (0: forever), numbered on from the passes run before; returns
 * how many failed. Without a block device nothing runs and -1 comes back.
 */
int blockcheck_run(u32 count, int hold_after_flush)
{
        if (!virtio_block.descriptor)
                return -1;
        u32 failed = 0;
        for (u32 i = 0; count == 0 || i < count; i++) {
                passes_run++;
                if (!blockcheck_pass(passes_run, hold_after_flush && passes_run == 1))
                        failed++;
        }
        return failed;
}

void blockcheck_main(const char *command_line)
{
        u32 count = 1;
        arg_u32(command_line, "blockcheck=", &count);
        int hold = has_word(command_line, "hold-after-flush");
        if (!virtio_block.descriptor) {
                print("# blockcheck skipped: no block device\n");
                return;
        }
        print("# blockcheck: ");
        print_u32((u32)virtio_block.capacity);
        print(" sectors, ");
        if (count) {
                print_u32(count);
                print(" passes\n");
        } else {
                print("passes until powered off\n");
        }
        int failed = blockcheck_run(count, hold);
        print("# blockcheck done: passed ");
        print_u32(count - failed);
        print(" failed ");
        print_u32(failed);
        print("\n");
}
