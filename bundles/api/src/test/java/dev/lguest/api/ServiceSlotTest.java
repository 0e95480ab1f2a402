package dev.lguest.api;

import dev.lguest.api.service.ServiceSlot;
import dev.lguest.api.service.SwapGap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A slot across a swap: a waiter gets the replacement, and a retired slot (its holder
 * deactivated) keeps what it had and lets waiters go instead of holding them for the
 * whole wait.
 */
class ServiceSlotTest {
    private final ServiceSlot<String> slot = new ServiceSlot<>("test");

    @Test
    void aWaiterGetsTheReplacementBoundDuringItsWait() throws Exception {
        slot.bind("old");
        slot.unbind("old");
        CompletableFuture<String> waiter = CompletableFuture.supplyAsync(() -> awaitQuietly(60));
        slot.bind("new");
        assertEquals("new", waiter.get(30, TimeUnit.SECONDS));
    }

    @Test
    void anUnbindOfAnOlderServiceLeavesTheNewerOne() {
        slot.bind("old");
        slot.bind("new");
        slot.unbind("old");
        assertEquals("new", slot.get());
    }

    @Test
    void boundWithPropertiesTheSlotUsesWhatAGreedyReferenceWouldAndFallsBackOnUnbind() {
        slot.bind("first", java.util.Map.of("service.id", 10L));
        slot.bind("second", java.util.Map.of("service.id", 11L));
        assertEquals("first", slot.get(), "equal ranking: the lower service id, as a unary reference picks");
        slot.bind("ranked", java.util.Map.of("service.id", 12L, "service.ranking", 5));
        assertEquals("ranked", slot.get(), "a higher ranking wins");
        slot.unbind("ranked");
        slot.unbind("first");
        // Two stopped at once: the one still bound serves, with no gap to wait out.
        assertEquals("second", slot.get());
        slot.unbind("second");
        assertNull(slot.get());
    }

    @Test
    void aRetiredSlotKeepsWhatWasBoundThroughItsUnbind() throws Exception {
        slot.bind("service");
        slot.retire();
        slot.unbind("service");
        assertTrue(slot.isRetired());
        assertSame("service", slot.get());
        assertSame("service", slot.await(1, TimeUnit.MILLISECONDS));
    }

    @Test
    void retiringAnEmptySlotReleasesItsWaitersAtOnce() throws Exception {
        CompletableFuture<String> waiter = CompletableFuture.supplyAsync(() -> awaitQuietly(600));
        // The waiter may or may not be waiting yet; either way it must come back empty,
        // long before its ten minutes.
        slot.retire();
        assertNull(waiter.get(30, TimeUnit.SECONDS));
        assertFalse(waiter.isCompletedExceptionally());
    }

    @Test
    @Timeout(120)
    void aThreadWaitingInAGapIsKnownToBeWaitingUntilItsWaitEnds() throws Exception {
        AtomicReference<Thread> waiterThread = new AtomicReference<>();
        AtomicReference<String> field = new AtomicReference<>();
        CompletableFuture<String> slotWaiter = CompletableFuture.supplyAsync(() -> {
            waiterThread.set(Thread.currentThread());
            return awaitQuietly(600);
        });
        awaitWaiting(waiterThread);
        slot.bind("new");
        assertEquals("new", slotWaiter.get(30, TimeUnit.SECONDS));
        assertFalse(SwapGap.isWaiting(waiterThread.get()), "a slot's waiter, once served");

        waiterThread.set(null);
        CompletableFuture<String> fieldWaiter = CompletableFuture.supplyAsync(() -> {
            waiterThread.set(Thread.currentThread());
            return SwapGap.await(field::get, TimeUnit.SECONDS.toNanos(600));
        });
        awaitWaiting(waiterThread);
        field.set("replacement");
        assertEquals("replacement", fieldWaiter.get(30, TimeUnit.SECONDS));
        assertFalse(SwapGap.isWaiting(waiterThread.get()), "a field's waiter, once served");
        assertFalse(SwapGap.isWaiting(Thread.currentThread()), "a thread that never waited");
    }

    /** Until the thread in {@code waiter} is seen waiting (the test's @Timeout ends it otherwise). */
    private static void awaitWaiting(AtomicReference<Thread> waiter)
            throws InterruptedException {
        while (waiter.get() == null || !SwapGap.isWaiting(waiter.get())) {
            Thread.sleep(1);
        }
    }

    private String awaitQuietly(long seconds) {
        try {
            return slot.await(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
