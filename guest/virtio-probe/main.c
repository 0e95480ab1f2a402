/*
 * The virtio probe: a guest that uses the Launcher's devices the way Linux would,
 * minus Linux. It finds the console and the disk on the lguest device page (the first
 * page above RAM, which it maps for itself), says hello through the console's output
 * queue, writes sector 0 of the disk with a barrier and reads it back, reads sector 1
 * (which the host wrote before booting it) and prints its first line, flushes the disk
 * and powers off. Anything unexpected ends in CRASH with the reason, so a test sees
 * exactly what went wrong.
 */
#include "virtio.h"

#define VIRTIO_BLK_T_IN       0
#define VIRTIO_BLK_T_OUT      1
#define VIRTIO_BLK_T_FLUSH    4
#define VIRTIO_BLK_T_BARRIER  0x80000000u
#define SECTOR                512
#define DEVICE_PAGES          256

static struct lguest_data lguest_data __attribute__((aligned(16)));

/* 2.6.24's request header, with the id that later kernels dropped. */
struct blk_header {
        u32 type;
        u32 ioprio;
        u64 sector;
        u64 id;
};

static struct device console, disk;
static struct blk_header header;
static u8 status;
static u8 written[SECTOR], readback[SECTOR], from_host[SECTOR];
static char line[128];

static u32 length(const char *s)
{
        u32 n = 0;
        while (s[n])
                n++;
        return n;
}

static void die(const char *why)
{
        hcall(LHCALL_CRASH, (u32)why, 0, 0);
        for (;;)
                ;
}

static void console_write(const char *text, u32 len)
{
        struct vring_desc chain[1] = {{ .addr = (u32)text, .len = len }};
        if (vq_submit(&console.vq[1], chain, 1) < 0)
                die("virtio-probe: the console did not take the output");
}

static void print(const char *text)
{
        console_write(text, length(text));
}

/* One block request: header, an optional data buffer, the status byte. */
static u8 block_request(u32 type, u64 sector, u8 *data, u32 len, int data_is_written_by_host)
{
        struct vring_desc chain[3];
        unsigned n = 0;
        header.type = type;
        header.ioprio = 0;
        header.sector = sector;
        header.id = 0;
        status = 0xff;
        chain[n++] = (struct vring_desc){ .addr = (u32)&header, .len = sizeof(header) };
        if (data)
                chain[n++] = (struct vring_desc){ .addr = (u32)data, .len = len,
                                                  .flags = data_is_written_by_host ? VRING_DESC_F_WRITE : 0 };
        chain[n++] = (struct vring_desc){ .addr = (u32)&status, .len = 1, .flags = VRING_DESC_F_WRITE };
        if (vq_submit(&disk.vq[0], chain, n) < 0)
                die("virtio-probe: the disk did not answer");
        return status;
}

void probe_main(u32 boot_params)
{
        lguest_data.kernel_address = 0;
        lguest_data.syscall_vec = SYSCALL_VECTOR;
        hcall(LHCALL_LGUEST_INIT, (u32)&lguest_data, 0, 0);

        /* The e820 map's one entry says how much RAM there is; the device page is above it. */
        u32 mem = *(u32 *)(boot_params + BOOT_E820_MAP + 8);
        map_device_pages(lguest_data.pgdir, mem, DEVICE_PAGES);

        if (!find_device(mem, VIRTIO_ID_CONSOLE, &console) || console.queues != 2)
                die("virtio-probe: no virtio console");
        print("virtio-probe: hello through the virtio console\n");

        if (!find_device(mem, VIRTIO_ID_BLOCK, &disk) || disk.queues != 1)
                die("virtio-probe: no virtio disk");
        if (disk.capacity < 2)
                die("virtio-probe: the disk is smaller than two sectors");

        const char *mine = "written by the virtio probe\n";
        for (u32 i = 0; i < SECTOR; i++)
                written[i] = i < length(mine) ? mine[i] : (u8)i;
        if (block_request(VIRTIO_BLK_T_OUT | VIRTIO_BLK_T_BARRIER, 0, written, SECTOR, 0) != 0)
                die("virtio-probe: writing sector 0 failed");
        if (block_request(VIRTIO_BLK_T_IN, 0, readback, SECTOR, 1) != 0)
                die("virtio-probe: reading sector 0 failed");
        for (u32 i = 0; i < SECTOR; i++)
                if (readback[i] != written[i])
                        die("virtio-probe: sector 0 read back differently");
        print("virtio-probe: sector 0 reads back as written\n");

        if (block_request(VIRTIO_BLK_T_IN, 1, from_host, SECTOR, 1) != 0)
                die("virtio-probe: reading sector 1 failed");
        u32 n = 0;
        const char *prefix = "virtio-probe: the host wrote: ";
        for (u32 i = 0; prefix[i]; i++)
                line[n++] = prefix[i];
        for (u32 i = 0; i < SECTOR && from_host[i] && from_host[i] != '\n' && n < sizeof(line) - 2; i++)
                line[n++] = from_host[i];
        line[n++] = '\n';
        console_write(line, n);

        /* A sector past the end must be refused, not crash anything. */
        if (block_request(VIRTIO_BLK_T_IN, disk.capacity, readback, SECTOR, 1) != 1)
                die("virtio-probe: a read past the end did not fail with IOERR");

        if (block_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0) != 0)
                die("virtio-probe: flush failed");
        print("virtio-probe: done\n");
        hcall(LHCALL_CRASH, (u32)"Power down", 0, 0);
}
