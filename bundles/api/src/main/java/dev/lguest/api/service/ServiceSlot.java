package dev.lguest.api.service;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The current value of a dynamic, greedy service reference, for a component whose
 * guests must not notice a swap.
 *
 * Every consumer in lguest binds its collaborators this way: optional, dynamic and
 * greedy, so a better-ranked implementation is bound while guests run, and an
 * implementation going away does not tear the consumer (and its guests) down. During
 * the short gap of a swap the slot may be empty; {@link #await} waits a bounded time
 * for the replacement instead of failing the guest (and is known meanwhile to
 * {@link SwapGap#isWaiting}).
 *
 * The holder itself may be the one going away: Declarative Services deactivates a
 * component before it unbinds its references, and a guest's thread may still be in
 * the middle of a call on it. {@link #retire} keeps what is bound for that call to
 * finish with, and lets a waiter on an empty slot go at once, since nothing will be
 * bound to a deactivated component again.
 */
public final class ServiceSlot<T> {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final String what;
    private volatile T current;
    /** Set by {@link #retire}: unbinds leave the value, waits end. */
    private volatile boolean retired;

    /** @param what what the service is, for messages ("CPU", "switcher") */
    public ServiceSlot(String what) {
        this.what = what;
    }

    @Override
    public String toString() {
        return what;
    }

    /** The bound service, or null in a gap. */
    public T get() {
        return current;
    }

    /** Binds {@code service} (the reference's bind method calls this). */
    public void bind(T service) {
        lock.lock();
        try {
            current = service;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Unbinds {@code service} if it is the bound one; a newer binding is left alone. */
    public void unbind(T service) {
        lock.lock();
        try {
            if (current == service && !retired) {
                current = null;
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The holder is being deactivated: from now on the slot keeps the service bound
     * now (the framework's unbinds no longer clear it), and {@link #await} no longer
     * waits; a waiter on an empty slot returns null at once.
     */
    public void retire() {
        lock.lock();
        try {
            retired = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Whether {@link #retire} was called. */
    public boolean isRetired() {
        return retired;
    }

    /**
     * The bound service, waiting up to the timeout for one; null if none came, or at
     * once if the slot is retired and empty.
     */
    public T await(long timeout, TimeUnit unit) throws InterruptedException {
        T service = current;
        if (service != null) {
            return service;
        }
        long left = unit.toNanos(timeout);
        SwapGap.enter();
        lock.lock();
        try {
            while ((service = current) == null && !retired && left > 0) {
                left = changed.awaitNanos(left);
            }
            return service;
        } finally {
            lock.unlock();
            SwapGap.leave();
        }
    }
}
