package dev.lguest.api.service;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The moment of a swap when a dynamic reference held in a field is empty: the old
 * implementation unbound, the new one not yet bound (as during Bundle.update, which
 * stops the old revision before it starts the new one). A component that finds the
 * field empty while serving a guest waits here a bounded time for the replacement
 * instead of failing the guest. The same wait as {@link ServiceSlot#await}, for
 * components whose references are fields.
 */
public final class SwapGap {
    /** How long a swap may leave a reference empty before the guest is failed. */
    public static final long WAIT_SECONDS = 30;

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
        try {
            while ((value = field.get()) == null && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return value;
    }
}
