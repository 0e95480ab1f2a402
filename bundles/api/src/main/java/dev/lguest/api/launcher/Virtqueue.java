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
}
