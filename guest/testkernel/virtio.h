/*
 * The guest side of lguest 2.6.24's virtio, as the test kernel drives it: devices
 * found on the device page above RAM, legacy vrings, and the two devices we use, the
 * console (queue 0 input, queue 1 output) and the block device (one queue).
 */
#ifndef TESTKERNEL_VIRTIO_H
#define TESTKERNEL_VIRTIO_H

#include "lguest.h"

#define VIRTIO_ID_BLOCK                 2
#define VIRTIO_ID_CONSOLE               3

#define VIRTIO_BLK_T_IN                 0
#define VIRTIO_BLK_T_OUT                1
#define VIRTIO_BLK_T_FLUSH              4
#define VIRTIO_BLK_T_BARRIER            0x80000000u
#define VIRTIO_BLK_S_OK                 0
#define VIRTIO_BLK_S_IOERR              1
#define VIRTIO_BLK_S_UNSUPP             2
#define SECTOR_SIZE                     512

#define VRING_DESC_F_NEXT               1
#define VRING_DESC_F_WRITE              2
#define VRING_AVAIL_F_NO_INTERRUPT      1

struct vring_desc {
        u64 addr;                       /* guest-physical */
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

struct virtqueue {
        u16 num, irq;
        u32 pfn;
        struct vring_desc *desc;
        volatile struct vring_avail *avail;
        volatile struct vring_used *used;
        u16 last_used;
};

struct virtio_device {
        u8 *descriptor;                 /* on the device page; 0 if there is no such device */
        unsigned queues;
        struct virtqueue vq[2];
        u64 capacity;                   /* block: sectors */
        u32 seg_max;                    /* block: data buffers per request */
};

/* A buffer for one descriptor, by its guest-physical address. */
struct buffer {
        u32 phys, len;
        int device_writes;
};

extern struct virtio_device virtio_console, virtio_block;
extern u32 device_page_phys;

/* Maps the device pages and finds the console and the block device. */
void virtio_init(u32 ram_top);
/* Offers one chain, kicks, and returns the used length (-1 if the host did not answer). */
int virtqueue_run(struct virtqueue *vq, const struct buffer *chain, unsigned count);

/* The console; both return -1 without a virtio console. */
int console_write(const void *text, u32 len);
/* Waits for at least one byte (interrupts on, HALT in between). */
int console_read(void *buffer, u32 len);

/* One block request with kernel buffers: returns the status byte, or -1. */
int block_request(u32 type, u64 sector, void *data, u32 len);

#endif
