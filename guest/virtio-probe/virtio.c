/*
 * Finding devices on the lguest device page and pushing requests through a vring,
 * the way 2.6.24's lguest_device.c and virtio_ring.c do it, without interrupts: the
 * Launcher serves a NOTIFY before the guest runs again, so when the hypercall returns
 * the used ring already holds the answer.
 */
#include "virtio.h"

/* Two page-table pages: 256 device pages straddle at most two of them. */
static u32 device_ptes[2][1024] __attribute__((aligned(PAGE_SIZE)));
static unsigned ptes_used;

void map_device_pages(u32 pgdir, u32 first, u32 pages)
{
        u32 *directory = (u32 *)pgdir;
        for (u32 i = 0; i < pages; i++) {
                u32 va = first + i * PAGE_SIZE;
                u32 index = va >> 22;
                if (!(directory[index] & 1)) {
                        directory[index] = (u32)device_ptes[ptes_used++] | PTE_PRESENT | PTE_RW | PTE_USER;
                        hcall(LHCALL_SET_PMD, pgdir, index, 0);
                }
                u32 *table = (u32 *)(directory[index] & ~0xfffu);
                u32 pte = va | PTE_PRESENT | PTE_RW | PTE_USER;
                table[(va >> 12) & 1023] = pte;
                hcall(LHCALL_SET_PTE, pgdir, va, pte);
        }
}

/* vring_init(): descriptors, then the available ring, the used ring on a page boundary. */
static void vring_init(struct virtqueue *vq)
{
        u8 *base = (u8 *)(vq->pfn * PAGE_SIZE);
        u32 avail_end = vq->num * sizeof(struct vring_desc) + sizeof(u16) * (2 + vq->num);
        vq->desc = (struct vring_desc *)base;
        vq->avail = (struct vring_avail *)(base + vq->num * sizeof(struct vring_desc));
        vq->used = (volatile struct vring_used *)(base + ((avail_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)));
        vq->last_used = 0;
}

int find_device(u32 device_page, u8 type, struct device *dev)
{
        u8 *page = (u8 *)device_page;
        /* Each descriptor: type, config_len, status, then config_len bytes of fields. */
        for (u32 at = 0; at < PAGE_SIZE - 3 && page[at] != 0; at += 3 + page[at + 1]) {
                u8 *d = page + at;
                if (d[0] != type)
                        continue;
                dev->descriptor = d;
                dev->type = type;
                dev->queues = 0;
                dev->capacity = 0;
                u8 *config = d + 3;
                for (u32 i = 0; i + 2 <= d[1]; i += 2 + config[i + 1]) {
                        u8 field = config[i] & ~CONFIG_FIELD_USED;
                        u8 *data = config + i + 2;
                        if (field == VIRTIO_CONFIG_F_VIRTQUEUE && dev->queues < 2) {
                                struct virtqueue *vq = &dev->vq[dev->queues++];
                                vq->num = *(u16 *)data;
                                vq->irq = *(u16 *)(data + 2);
                                vq->pfn = *(u32 *)(data + 4);
                                vring_init(vq);
                                config[i] |= CONFIG_FIELD_USED;
                        } else if (field == VIRTIO_CONFIG_BLK_F_CAPACITY) {
                                dev->capacity = *(u64 *)data;
                                config[i] |= CONFIG_FIELD_USED;
                        }
                }
                d[2] = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK;
                return 1;
        }
        return 0;
}

int vq_submit(struct virtqueue *vq, const struct vring_desc *chain, unsigned count)
{
        /* The probe has one request in flight at a time: it always uses descriptors 0..count-1. */
        for (unsigned i = 0; i < count; i++) {
                vq->desc[i] = chain[i];
                vq->desc[i].flags |= (i + 1 < count) ? VRING_DESC_F_NEXT : 0;
                vq->desc[i].next = i + 1 < count ? i + 1 : 0;
        }
        vq->avail->ring[vq->avail->idx % vq->num] = 0;
        __asm__ __volatile__("" ::: "memory");
        vq->avail->idx++;
        hcall(LHCALL_NOTIFY, vq->pfn * PAGE_SIZE, 0, 0);
        if (vq->used->idx == vq->last_used)
                return -1;
        int len = vq->used->ring[vq->last_used % vq->num].len;
        vq->last_used++;
        return len;
}
