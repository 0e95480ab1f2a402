/*
 * The guest side of lguest 2.6.24's virtio, just enough of it to drive a device by
 * hand: the device descriptors on the device page, and the legacy vring layout
 * (descriptors, the available ring, the used ring on the next page boundary).
 */
#ifndef VIRTIO_H
#define VIRTIO_H

#include "lguest_abi.h"

#define VIRTIO_ID_BLOCK              2
#define VIRTIO_ID_CONSOLE            3
#define VIRTIO_CONFIG_F_VIRTQUEUE    2
#define VIRTIO_CONFIG_BLK_F_CAPACITY 0x41
/* The guest marks the fields it used, so the host can see it looked at them. */
#define CONFIG_FIELD_USED            0x80

#define VIRTIO_STATUS_ACKNOWLEDGE    1
#define VIRTIO_STATUS_DRIVER         2
#define VIRTIO_STATUS_DRIVER_OK      4

#define VRING_DESC_F_NEXT            1
#define VRING_DESC_F_WRITE           2
#define VRING_AVAIL_F_NO_INTERRUPT   1

struct vring_desc {
        u64 addr;
        u32 len;
        u16 flags;
        u16 next;
};

struct vring_avail {
        u16 flags;
        u16 idx;
        u16 ring[];
};

struct vring_used_elem {
        u32 id;
        u32 len;
};

struct vring_used {
        u16 flags;
        u16 idx;
        struct vring_used_elem ring[];
};

/* One virtqueue as the guest drives it: the ring and where the host said it is. */
struct virtqueue {
        u16 num;
        u16 irq;
        u32 pfn;
        struct vring_desc *desc;
        struct vring_avail *avail;
        volatile struct vring_used *used;
        u16 last_used;
};

/* One device found on the device page. */
struct device {
        u8 *descriptor;
        u8 type;
        unsigned queues;
        struct virtqueue vq[2];
        u64 capacity;
};

/* Maps the device pages at the same virtual address as their physical one. */
void map_device_pages(u32 pgdir, u32 first, u32 pages);
/* Finds the first device of a type on the device page; 0 if none. */
int find_device(u32 device_page, u8 type, struct device *dev);
/* Offers a chain of buffers, kicks the queue and returns the used length (or -1). */
int vq_submit(struct virtqueue *vq, const struct vring_desc *chain, unsigned count);

#endif
