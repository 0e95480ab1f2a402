package dev.lguest.launcher;

import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.ConfigField;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The lguest device page and the pages above it, as lguest.c's new_dev_desc(),
 * add_desc_field() and add_virtqueue() fill them.
 *
 * The descriptor page is the first page above RAM; Linux finds it at max_pfn. It
 * holds one descriptor per device, {u8 type, u8 config_len, u8 status, config...},
 * one after the other, and a type 0 ends the list (the page starts zeroed, so the
 * byte after the last device already says so). A device's config is a list of fields
 * {u8 type, u8 len, data}; each virtqueue is a field of type 2, {u16 num, u16 irq,
 * u32 pfn}, and the ring itself takes whole pages above the descriptor page.
 * Interrupts are handed out from 1 up, since 0 is the clock.
 */
final class DevicePage {
    /** Entries per ring, lguest.c's VIRTQUEUE_NUM. */
    static final int QUEUE_ENTRIES = 128;
    static final int HEADER_BYTES = 3;
    static final int FIELD_HEADER_BYTES = 2;
    static final int VIRTQUEUE_FIELD_BYTES = 8;
    /** Guest IRQs are 0..31 (LGUEST_IRQS); 0 is the timer. */
    static final int FIRST_DEVICE_IRQ = 1;
    static final int IRQ_LIMIT = 32;

    /** Where one virtqueue went: its ring's first page and its interrupt. */
    record QueuePlacement(long ringAddress, int irq) {
        int pfn() {
            return (int) (ringAddress / PhysicalMemory.PAGE_SIZE);
        }
    }

    private final GuestMemory memory;
    private final long descriptorPage;
    private final long pagesEnd;
    private int descriptorsUsed;
    private long nextFreePage;
    private int nextIrq = FIRST_DEVICE_IRQ;

    DevicePage(GuestMemory memory, GuestLayout layout) {
        this.memory = memory;
        this.descriptorPage = layout.deviceDescriptorPage();
        this.pagesEnd = layout.totalBytes();
        this.nextFreePage = descriptorPage + PhysicalMemory.PAGE_SIZE;
        memory.fill(descriptorPage, pagesEnd - descriptorPage, (byte) 0);
    }

    /**
     * Adds one device: its descriptor, its virtqueues' fields and rings, then its other
     * fields. Returns where the rings went, in queue order.
     */
    List<QueuePlacement> add(String name, int type, int queues, List<ConfigField> fields) throws BootException {
        int configBytes = queues * (FIELD_HEADER_BYTES + VIRTQUEUE_FIELD_BYTES);
        for (ConfigField f : fields) {
            configBytes += FIELD_HEADER_BYTES + f.data().length;
        }
        if (configBytes > 0xff) {
            throw new BootException("device " + name + " has more configuration than a descriptor holds");
        }
        // Keep one zero byte after the last descriptor: it is what ends the list.
        if (descriptorsUsed + HEADER_BYTES + configBytes + 1 > PhysicalMemory.PAGE_SIZE) {
            throw new BootException("too many devices for the device page");
        }
        if (nextIrq + queues > IRQ_LIMIT) {
            throw new BootException("too many virtqueues for the guest's " + IRQ_LIMIT + " interrupts");
        }
        long ringBytes = (long) queues * VirtqueueRing.pages(QUEUE_ENTRIES) * PhysicalMemory.PAGE_SIZE;
        if (ringBytes > pagesEnd - nextFreePage) {
            throw new BootException("not enough device pages for device " + name);
        }

        long descriptor = descriptorPage + descriptorsUsed;
        ByteBuffer bytes = ByteBuffer.allocate(HEADER_BYTES + configBytes).order(ByteOrder.LITTLE_ENDIAN);
        bytes.put((byte) type).put((byte) configBytes).put((byte) 0);
        QueuePlacement[] placements = new QueuePlacement[queues];
        for (int q = 0; q < queues; q++) {
            QueuePlacement p = new QueuePlacement(nextFreePage, nextIrq++);
            nextFreePage += (long) VirtqueueRing.pages(QUEUE_ENTRIES) * PhysicalMemory.PAGE_SIZE;
            bytes.put((byte) ConfigField.VIRTQUEUE).put((byte) VIRTQUEUE_FIELD_BYTES);
            bytes.putShort((short) QUEUE_ENTRIES).putShort((short) p.irq()).putInt(p.pfn());
            placements[q] = p;
        }
        for (ConfigField f : fields) {
            byte[] data = f.data();
            bytes.put((byte) f.type()).put((byte) data.length).put(data);
        }
        memory.write(descriptor, bytes.array());
        descriptorsUsed += bytes.capacity();
        return List.of(placements);
    }

    /** The guest-physical address of the next descriptor (for tests and --verbose). */
    long descriptorEnd() {
        return descriptorPage + descriptorsUsed;
    }
}
