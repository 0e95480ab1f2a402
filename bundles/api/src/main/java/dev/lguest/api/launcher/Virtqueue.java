package dev.lguest.api.launcher;

/**
 * One virtqueue as a device sees it: the host side of a legacy virtio ring in guest
 * memory. The ring itself is the Launcher's business; it checks everything the guest
 * wrote there before a device sees it.
 */
public interface Virtqueue {
    /** The queue's interrupt line. */
    int irq();

    /**
     * The next chain of buffers the guest made available, or null if there is none.
     * Every buffer of it lies in guest memory, readable ones before writable ones.
     *
     * @throws VirtqueueFault if the guest broke the ring
     */
    DescriptorChain next();

    /** Puts {@code chain} in the used ring, saying the device wrote {@code written} bytes into it. */
    void used(DescriptorChain chain, int written);

    /** Raises the queue's interrupt, unless the guest asked for none (VRING_AVAIL_F_NO_INTERRUPT). */
    void interrupt();

    /**
     * Raises the queue's interrupt even if the guest asked for none. The flag is a hint
     * and a driver must take an interrupt it did not want (it finds nothing new, or work
     * it is already doing); this is for a driver that turns its interrupts off in one it
     * cannot act on yet and so would never hear of the queue again (2.6.24's
     * virtio_net before its receive poll is enabled).
     */
    void interruptEvenIfSuppressed();
}
