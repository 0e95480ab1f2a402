package dev.lguest.api;

import dev.lguest.api.service.ServiceSlot;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

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

    private String awaitQuietly(long seconds) {
        try {
            return slot.await(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
