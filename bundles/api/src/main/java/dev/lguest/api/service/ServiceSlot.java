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
 * for the replacement instead of failing the guest.
 */
public final class ServiceSlot<T> {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final String what;
    private volatile T current;

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
            if (current == service) {
                current = null;
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** The bound service, waiting up to the timeout for one; null if none came. */
    public T await(long timeout, TimeUnit unit) throws InterruptedException {
        T service = current;
        if (service != null) {
            return service;
        }
        long left = unit.toNanos(timeout);
        lock.lock();
        try {
            while ((service = current) == null && left > 0) {
                left = changed.awaitNanos(left);
            }
            return service;
        } finally {
            lock.unlock();
        }
    }
}
