/*
 * Driving the Launcher's virtio devices the way 2.6.24's lguest_device.c and
 * virtio_ring.c do, minus everything we do not need.
 *
 * The device page is the first page above RAM, so our map of RAM at PAGE_OFFSET does
 * not reach it: we map it and the ring pages after it into a kernel window of their
 * own (KERNEL_DEVICE_AREA). The rings hold guest-physical addresses, since the host
 * reads them without our page tables.
 *
 * We keep one request in flight per queue and never wait for an interrupt: the
 * Launcher serves a NOTIFY before the guest runs again, so when the hypercall returns
 * the used ring already has the answer. The queues say so with NO_INTERRUPT, which
 * spares us an interrupt per request, except the console's input queue while we wait
 * for someone to type.
 */
#include "kernel.h"
#include "virtio.h"

#define DEVICE_PAGES            256
#define CONFIG_FIELD_USED       0x80
#define CONFIG_VIRTQUEUE        2
#define CONFIG_BLK_CAPACITY     0x41
#define CONFIG_BLK_SEG_MAX      0x43
#define STATUS_ACKNOWLEDGE      1
#define STATUS_DRIVER           2
#define STATUS_DRIVER_OK        4

struct virtio_device virtio_console, virtio_block;
u32 device_page_phys;

static void *device_virt(u32 phys)
{
        return (void *)(KERNEL_DEVICE_AREA + (phys - device_page_phys));
}

static void map_device_pages(void)
{
        for (u32 i = 0; i < DEVICE_PAGES; i++)
                map_page(kernel_pgdir, KERNEL_DEVICE_AREA + i * PAGE_SIZE,
                         (device_page_phys + i * PAGE_SIZE) | PTE_PRESENT | PTE_RW | PTE_ACCESSED | PTE_DIRTY);
}

/* vring_init(): descriptors, the available ring, the used ring on the next page. */
static void setup_queue(struct virtqueue *vq, const u8 *field)
{
        vq->num = *(const u16 *)field;
        vq->irq = *(const u16 *)(field + 2);
        vq->pfn = *(const u32 *)(field + 4);
        u8 *base = device_virt(vq->pfn * PAGE_SIZE);
        u32 avail_end = vq->num * sizeof(struct vring_desc) + sizeof(u16) * (2 + vq->num);
        vq->desc = (struct vring_desc *)base;
        vq->avail = (volatile struct vring_avail *)(base + vq->num * sizeof(struct vring_desc));
        vq->used = (volatile struct vring_used *)(base + ((avail_end + PAGE_SIZE - 1) & PTE_FRAME));
        vq->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
        vq->last_used = vq->used->idx;
}

/* Each descriptor: {type, config_len, status, config}; the config is fields {type, len, data}. */
static void find_device(u8 type, struct virtio_device *dev)
{
        u8 *page = device_virt(device_page_phys);
        for (u32 at = 0; at < PAGE_SIZE - 3 && page[at]; at += 3 + page[at + 1]) {
                u8 *d = page + at;
                if (d[0] != type)
                        continue;
                u8 *config = d + 3;
                for (u32 i = 0; i + 2 <= d[1]; i += 2 + config[i + 1]) {
                        u8 field = config[i] & ~CONFIG_FIELD_USED;
                        u8 *data = config + i + 2;
                        if (field == CONFIG_VIRTQUEUE && dev->queues < 2) {
                                setup_queue(&dev->vq[dev->queues++], data);
                                config[i] |= CONFIG_FIELD_USED;
                        } else if (field == CONFIG_BLK_CAPACITY) {
                                dev->capacity = *(u64 *)data;
                                config[i] |= CONFIG_FIELD_USED;
                        } else if (field == CONFIG_BLK_SEG_MAX) {
                                dev->seg_max = *(u32 *)data;
                                config[i] |= CONFIG_FIELD_USED;
                        }
                }
                d[2] = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_DRIVER_OK;
                dev->descriptor = d;
                return;
        }
}

void virtio_init(u32 ram_top)
{
        device_page_phys = ram_top;
        map_device_pages();
        find_device(VIRTIO_ID_CONSOLE, &virtio_console);
        if (virtio_console.descriptor && virtio_console.queues != 2)
                virtio_console.descriptor = 0;
        find_device(VIRTIO_ID_BLOCK, &virtio_block);
        if (virtio_block.descriptor && virtio_block.queues != 1)
                virtio_block.descriptor = 0;
}

/* Lays the chain out in descriptors 0..count-1 and publishes head 0. */
static void offer(struct virtqueue *vq, const struct buffer *chain, unsigned count)
{
        for (unsigned i = 0; i < count; i++) {
                vq->desc[i].addr = chain[i].phys;
                vq->desc[i].len = chain[i].len;
                vq->desc[i].flags = (i + 1 < count ? VRING_DESC_F_NEXT : 0)
                                  | (chain[i].device_writes ? VRING_DESC_F_WRITE : 0);
                vq->desc[i].next = i + 1 < count ? i + 1 : 0;
        }
        vq->avail->ring[vq->avail->idx % vq->num] = 0;
        /* The host must see the entry before the index that publishes it. */
        __asm__ __volatile__("" ::: "memory");
        vq->avail->idx++;
}

static int take_used(struct virtqueue *vq)
{
        if (vq->used->idx == vq->last_used)
                return -1;
        int len = vq->used->ring[vq->last_used % vq->num].len;
        vq->last_used++;
        return len;
}

int virtqueue_run(struct virtqueue *vq, const struct buffer *chain, unsigned count)
{
        offer(vq, chain, count);
        hcall(LHCALL_NOTIFY, vq->pfn * PAGE_SIZE, 0, 0);
        return take_used(vq);
}

/* ---- the console ---- */

/* Output goes through a kernel page, so callers may pass any kernel address. */
static char console_out[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static char console_in[256];

int console_write(const void *text, u32 len)
{
        if (!virtio_console.descriptor)
                return -1;
        const char *from = text;
        for (u32 done = 0; done < len;) {
                u32 n = len - done < sizeof(console_out) ? len - done : sizeof(console_out);
                memcpy(console_out, from + done, n);
                struct buffer chain[1] = {{ pa(console_out), n, 0 }};
                if (virtqueue_run(&virtio_console.vq[1], chain, 1) < 0)
                        return -1;
                done += n;
        }
        return len;
}

/*
 * The host fills an input buffer when a key arrives, which may be long after we
 * offered it: so here, and only here, we ask for the interrupt and sleep with HALT
 * until the used ring moves. The interrupt itself does nothing (trap_dispatch counts
 * it as a device interrupt); it is there to end the HALT.
 */
int console_read(void *buffer, u32 len)
{
        if (!virtio_console.descriptor)
                return -1;
        struct virtqueue *vq = &virtio_console.vq[0];
        if (len > sizeof(console_in))
                len = sizeof(console_in);
        struct buffer chain[1] = {{ pa(console_in), len, 1 }};
        offer(vq, chain, 1);
        vq->avail->flags = 0;
        u32 blocked = lguest_data.blocked_interrupts;
        lguest_data.blocked_interrupts = blocked & ~(1u << vq->irq);
        u32 flags = irq_save();
        hcall(LHCALL_NOTIFY, vq->pfn * PAGE_SIZE, 0, 0);
        int got;
        /* HALT is "sti; hlt": we sleep with interrupts off, so an interrupt
         * between our look at the ring and the HALT cannot be lost; the host turns
         * them on to deliver it, and we turn them off again. */
        while ((got = take_used(vq)) < 0) {
                hcall(LHCALL_HALT, 0, 0, 0);
                irq_disable();
        }
        irq_restore(flags);
        vq->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
        lguest_data.blocked_interrupts = blocked;
        memcpy(buffer, console_in, got);
        return got;
}

/* ---- the block device ---- */

/* 2.6.24's request header, with the id later kernels dropped. */
static struct {
        u32 type, ioprio;
        u64 sector, id;
} block_header;
static volatile u8 block_status;

int block_request(u32 type, u64 sector, void *data, u32 len)
{
        if (!virtio_block.descriptor)
                return -1;
        struct buffer chain[3];
        unsigned n = 0;
        block_header.type = type;
        block_header.ioprio = 0;
        block_header.sector = sector;
        block_header.id = 0;
        block_status = 0xff;
        chain[n++] = (struct buffer){ pa(&block_header), sizeof(block_header), 0 };
        if (data && len)
                chain[n++] = (struct buffer){ pa(data), len, (type & ~VIRTIO_BLK_T_BARRIER) == VIRTIO_BLK_T_IN };
        chain[n++] = (struct buffer){ pa(&block_status), 1, 1 };
        if (virtqueue_run(&virtio_block.vq[0], chain, n) < 0)
                return -1;
        return block_status;
}
