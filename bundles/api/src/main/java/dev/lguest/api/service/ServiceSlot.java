package dev.lguest.api.service;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
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
 * A slot can also hold every registered implementation (a reference of cardinality
 * MULTIPLE, bound with its service properties): the one in use is then the one a
 * unary greedy reference would pick (highest service.ranking, then lowest service.id),
 * and an unbind falls back to the next. That is what keeps a consumer served when two
 * bundles stop at once: Declarative Services binds a unary reference's replacement by
 * getting the best candidate only, and if that one is itself being deactivated at
 * that moment (its getService answers null), the reference stays empty although
 * another implementation is registered, until some later registration (in a stress
 * run of concurrent swaps, the switcher lost its hypercalls for good that way). With
 * MULTIPLE, a candidate that fails is just not among those bound.
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
    /** Everything bound, best first; {@link #current} is the first. Guarded by {@link #lock}. */
    private final List<Candidate<T>> bound = new ArrayList<>();
    /** Orders plain {@link #bind(Object)} calls: the latest is the best. */
    private long plainBinds;
    /** Set by {@link #retire}: unbinds leave the value, waits end. */
    private volatile boolean retired;

    /** One bound service with what ranks it: higher ranking first, then lower id. */
    private record Candidate<T>(T service, int ranking, long id) {
        static final Comparator<Candidate<?>> BEST_FIRST =
                Comparator.<Candidate<?>>comparingInt(c -> -c.ranking()).thenComparingLong(Candidate::id);
    }

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

    /**
     * Binds {@code service} as the one to use from now on (a unary reference's bind
     * method calls this: the framework picked it).
     */
    public void bind(T service) {
        lock.lock();
        try {
            plainBinds++;
            add(new Candidate<>(service, Integer.MAX_VALUE, -plainBinds));
        } finally {
            lock.unlock();
        }
    }

    /**
     * Binds {@code service} beside any others, ranked by its service properties
     * (service.ranking, service.id) as a greedy unary reference ranks them: a
     * MULTIPLE reference's bind method calls this.
     */
    public void bind(T service, Map<String, ?> properties) {
        Object ranking = properties.get("service.ranking");
        Object id = properties.get("service.id");
        lock.lock();
        try {
            // Without a service.id (bound by hand, not by the framework) the latest is preferred.
            add(new Candidate<>(service, ranking instanceof Integer r ? r : 0,
                    id instanceof Long l ? l : -++plainBinds));
        } finally {
            lock.unlock();
        }
    }

    private void add(Candidate<T> candidate) {
        bound.removeIf(c -> c.service() == candidate.service());
        bound.add(candidate);
        bound.sort(Candidate.BEST_FIRST);
        current = bound.getFirst().service();
        changed.signalAll();
    }

    /**
     * Binds {@code service} in place of everything bound (null: nothing), for a holder
     * given its collaborators by hand rather than by the framework (tests). As with
     * {@link #unbind}, a retired slot keeps what it has.
     */
    public void set(T service) {
        lock.lock();
        try {
            if (!retired) {
                bound.clear();
                current = null;
            }
            if (service != null) {
                bind(service);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Unbinds {@code service}; the best of those still bound (if any) is used from
     * now on. A retired slot keeps it.
     */
    public void unbind(T service) {
        lock.lock();
        try {
            if (!retired) {
                bound.removeIf(c -> c.service() == service);
                current = bound.isEmpty() ? null : bound.getFirst().service();
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
