package dev.lguest.launcher;

import dev.lguest.api.launcher.DescriptorChain;
import dev.lguest.api.launcher.QueuePosition;
import dev.lguest.api.launcher.Virtqueue;
import dev.lguest.api.launcher.VirtqueueFault;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * The host side of one virtqueue: lguest.c's get_vq_desc(), add_used() and
 * trigger_irq(), over a legacy (2.6.24) virtio ring in guest memory:
 *
 *   base                 num descriptors {u64 addr, u32 len, u16 flags, u16 next}
 *   base + 16*num        available ring {u16 flags, u16 idx, u16 ring[num]}
 *   next 4 KiB boundary  used ring {u16 flags, u16 idx, {u32 id, u32 len}[num]}
 *
 * The guest writes the descriptors and the available ring, and may write anything
 * there at any time, so every value read from them is checked before it is used: an
 * index that moved too far, a head or next out of range, a chain longer than the
 * ring (which is how a loop shows), a buffer outside guest memory, a readable buffer
 * after a writable one. Each is a VirtqueueFault, and the guest dies with its message,
 * as lguest.c's errx() would. Our own position in each ring (the last available entry
 * we took, the used index) is kept here, not read back from the guest.
 *
 * When the device behind a ring is replaced while the guest runs, the ring is too: a
 * new ring starts at this one's {@link #position()}, and this one is retired, so that a
 * late call from the old device (a thread it failed to stop) is refused instead of
 * moving the guest's ring behind the new device's back.
 */
final class VirtqueueRing implements Virtqueue {
    static final int DESCRIPTOR_BYTES = 16;
    static final int DESC_F_NEXT = 1;
    static final int DESC_F_WRITE = 2;
    static final int AVAIL_F_NO_INTERRUPT = 1;

    private final GuestMemory memory;
    private final String name;
    private final long descriptors;
    private final long available;
    private final long used;
    private final int num;
    private final int irq;
    private final IntConsumer interruptLine;
    private int lastAvailable;
    private int usedIndex;
    private volatile boolean retired;

    /**
     * A ring of {@code num} entries at guest-physical {@code base}, page-aligned and
     * zeroed by the caller; {@code interruptLine} raises an irq (LHREQ_IRQ).
     */
    VirtqueueRing(GuestMemory memory, String name, long base, int num, int irq, IntConsumer interruptLine) {
        this.memory = memory;
        this.name = name;
        this.descriptors = base;
        this.available = base + (long) DESCRIPTOR_BYTES * num;
        this.used = base + usedOffset(num);
        this.num = num;
        this.irq = irq;
        this.interruptLine = interruptLine;
    }

    /** A ring that continues at {@code position}: the successor of a retired one. */
    VirtqueueRing(GuestMemory memory, String name, long base, int num, int irq, IntConsumer interruptLine,
                  QueuePosition position) {
        this(memory, name, base, num, irq, interruptLine);
        this.lastAvailable = position.lastAvailable();
        this.usedIndex = position.usedIndex();
    }

    /** Where we stand in the ring, for a hand-over. */
    QueuePosition position() {
        return new QueuePosition(lastAvailable, usedIndex);
    }

    /** A ring at the same place, continuing where this one stands now. */
    VirtqueueRing successor() {
        return new VirtqueueRing(memory, name, descriptors, num, irq, interruptLine, position());
    }

    /** The ring's successor took over: this one refuses every call from now on. */
    void retire() {
        retired = true;
    }

    private void checkLive() {
        if (retired) {
            throw new IllegalStateException(name + ": the ring was handed to another device");
        }
    }

    /** Where the used ring starts: after the descriptors and the available ring, page-aligned (vring_init). */
    static long usedOffset(int num) {
        long availableEnd = (long) DESCRIPTOR_BYTES * num + 2L * (2 + num);
        return (availableEnd + PhysicalMemory.PAGE_SIZE - 1) & -PhysicalMemory.PAGE_SIZE;
    }

    /** vring_size(): the bytes a ring of {@code num} entries takes. */
    static long bytes(int num) {
        return usedOffset(num) + 4 + 8L * num;
    }

    static int pages(int num) {
        return (int) ((bytes(num) + PhysicalMemory.PAGE_SIZE - 1) / PhysicalMemory.PAGE_SIZE);
    }

    @Override
    public int irq() {
        return irq;
    }

    long descriptorsAddress() {
        return descriptors;
    }

    long usedRing() {
        return used;
    }

    long availableRing() {
        return available;
    }

    @Override
    public DescriptorChain next() {
        checkLive();
        int availableIndex = memory.read16(available + 2);
        int waiting = (availableIndex - lastAvailable) & 0xffff;
        if (waiting > num) {
            throw fault("the guest moved the available index from %d to %d", lastAvailable, availableIndex);
        }
        if (waiting == 0) {
            return null;
        }
        int head = memory.read16(available + 4 + 2L * (lastAvailable % num));
        lastAvailable = (lastAvailable + 1) & 0xffff;
        if (head >= num) {
            throw fault("the guest says descriptor %d is available, of %d", head, num);
        }
        List<DescriptorChain.Buffer> readable = new ArrayList<>();
        List<DescriptorChain.Buffer> writable = new ArrayList<>();
        int index = head;
        while (true) {
            if (readable.size() + writable.size() == num) {
                throw fault("descriptor chain from %d is longer than the ring: a loop", head);
            }
            long descriptor = descriptors + (long) DESCRIPTOR_BYTES * index;
            long address = memory.read64(descriptor);
            long length = Integer.toUnsignedLong(memory.read32(descriptor + 8));
            int flags = memory.read16(descriptor + 12);
            int next = memory.read16(descriptor + 14);
            // A negative long is an address above 2^63: contains() refuses it too.
            if (!memory.contains(address, length)) {
                throw fault("descriptor %d points outside guest memory (%#x, %d bytes)", index, address, length);
            }
            DescriptorChain.Buffer buffer = new DescriptorChain.Buffer(address, length);
            if ((flags & DESC_F_WRITE) != 0) {
                writable.add(buffer);
            } else if (!writable.isEmpty()) {
                throw fault("descriptor %d is readable but follows a writable one", index);
            } else {
                readable.add(buffer);
            }
            if ((flags & DESC_F_NEXT) == 0) {
                break;
            }
            if (next >= num) {
                throw fault("descriptor %d chains to %d, outside the ring of %d", index, next, num);
            }
            index = next;
        }
        return new DescriptorChain(memory, head, readable, writable);
    }

    @Override
    public void used(DescriptorChain chain, int written) {
        checkLive();
        long element = used + 4 + 8L * (usedIndex % num);
        memory.write32(element, chain.head());
        memory.write32(element + 4, written);
        // A device fills its buffers straight through their memory segments, as DMA
        // would, unseen by the dirty logs (a migration's, and the switcher's, which tells
        // the guest's CPU what to decode again); handing them back is when they are known
        // to be written, so they are named here (the used element is marked by the writes
        // above, as every write through GuestMemory is). The guest's CPU may be running
        // on another thread and read the new index at once: naming the buffers before
        // the index is written stops it (GuestMemory.deviceWrote) before it can run
        // code from their bytes.
        for (DescriptorChain.Buffer b : chain.writable()) {
            memory.deviceWrote(b.address(), b.length());
        }
        usedIndex = (usedIndex + 1) & 0xffff;
        // The guest only looks at an element once the index covers it. (The index's
        // own two bytes are the one write the CPU is told of after it was stopped, at
        // the next run but one: code run from them as they change is the guest's own
        // race, as code another agent rewrites is on x86.)
        memory.write16(used + 2, usedIndex);
    }

    @Override
    public void interrupt() {
        checkLive();
        if ((memory.read16(available) & AVAIL_F_NO_INTERRUPT) != 0) {
            return;
        }
        interruptLine.accept(irq);
    }

    @Override
    public void interruptEvenIfSuppressed() {
        checkLive();
        interruptLine.accept(irq);
    }

    private VirtqueueFault fault(String format, Object... args) {
        return new VirtqueueFault(name + ": " + String.format(format, args));
    }
}
