package dev.lguest.api.service;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The moment of a swap when a dynamic reference held in a field is empty: the old
 * implementation unbound, the new one not yet bound (as during Bundle.update, which
 * stops the old revision before it starts the new one). A component that finds the
 * field empty while serving a guest waits here a bounded time for the replacement
 * instead of failing the guest. The same wait as {@link ServiceSlot#await}, for
 * components whose references are fields.
 *
 * Whoever waits here, or in {@link ServiceSlot#await}, is known while it waits
 * ({@link #isWaiting}). That matters to an unbind that waits for guests to finish
 * their calls into the service going away: a guest waiting for a replacement has no
 * such call to finish, and waiting for it would hold up the very swap that brings the
 * replacement (the switcher's unbind waited for a guest that waited in trap delivery
 * for the segments whose unbind was held up by the switcher).
 */
public final class SwapGap {
    /** How long a swap may leave a reference empty before the guest is failed. */
    public static final long WAIT_SECONDS = 30;

    /** The threads waiting out a gap right now. */
    private static final Set<Thread> WAITING = ConcurrentHashMap.newKeySet();

    private SwapGap() {
    }

    /** The field's value, waiting up to {@link #WAIT_SECONDS} while it is empty; null if it stays so. */
    public static <T> T await(Supplier<T> field) {
        return await(field, TimeUnit.SECONDS.toNanos(WAIT_SECONDS));
    }

    /** The field's value, waiting up to {@code nanos} while it is empty; null if it stays so. */
    public static <T> T await(Supplier<T> field, long nanos) {
        T value = field.get();
        if (value != null) {
            return value;
        }
        long deadline = System.nanoTime() + nanos;
        enter();
        try {
            while ((value = field.get()) == null && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            leave();
        }
        return value;
    }

    /**
     * Whether {@code thread} is waiting for a replacement in a gap right now (here or
     * in a {@link ServiceSlot}); such a thread is calling into no service at the moment.
     */
    public static boolean isWaiting(Thread thread) {
        return WAITING.contains(thread);
    }

    /** Marks the current thread waiting, until it calls {@link #leave}. */
    static void enter() {
        WAITING.add(Thread.currentThread());
    }

    static void leave() {
        WAITING.remove(Thread.currentThread());
    }
}
