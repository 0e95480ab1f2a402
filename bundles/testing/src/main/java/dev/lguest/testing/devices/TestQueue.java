package dev.lguest.testing.devices;

import dev.lguest.api.launcher.DescriptorChain;
import dev.lguest.api.launcher.Virtqueue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * A virtqueue for the virtio devices' unit tests: chains go in by hand, used lengths
 * and interrupts are recorded for the test to look at; {@link #guestAsksForNoInterrupts}
 * plays the guest's VRING_AVAIL_F_NO_INTERRUPT.
 */
public final class TestQueue implements Virtqueue {
    public final Deque<DescriptorChain> available = new ArrayDeque<>();
    public final List<Integer> usedLengths = new ArrayList<>();
    public int interrupts;
    /** The guest's VRING_AVAIL_F_NO_INTERRUPT: {@link #interrupt()} raises nothing while it is set. */
    public boolean guestAsksForNoInterrupts;

    @Override
    public int irq() {
        return 1;
    }

    @Override
    public DescriptorChain next() {
        return available.poll();
    }

    @Override
    public void used(DescriptorChain chain, int written) {
        usedLengths.add(written);
    }

    @Override
    public void interrupt() {
        if (!guestAsksForNoInterrupts) {
            interrupts++;
        }
    }

    @Override
    public void interruptEvenIfSuppressed() {
        interrupts++;
    }
}
