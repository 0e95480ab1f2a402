package dev.lguest.api;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The guest record's death, interrupts and sleeping. */
class GuestTest {
    private final MemorySegment ram = Arena.ofAuto().allocate(4096);
    private final Guest guest = new Guest(new GuestMemory(ram), new PhysicalMemory(ram), 1, Thread.currentThread());

    @Test
    void theFirstReasonToDieIsTheOneKept() {
        assertTrue(guest.kill("Power down"));
        assertFalse(guest.kill("something later"));
        assertEquals("Power down", guest.deadReason());
    }

    @Test
    void irqsArePendingUntilCleared() {
        guest.raiseIrq(0);
        guest.raiseIrq(31);
        assertEquals(0x80000001, guest.pendingIrqs());
        guest.clearIrq(0);
        assertEquals(0x80000000, guest.pendingIrqs());
    }

    @Test
    void aSleepingGuestWakesForAnInterrupt() throws Exception {
        CompletableFuture<Void> sleeper = CompletableFuture.runAsync(() -> {
            try {
                guest.sleep(0);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(50);
        assertFalse(sleeper.isDone());
        guest.raiseIrq(3);
        sleeper.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aSleepEndsAtItsDeadline() throws InterruptedException {
        long start = System.nanoTime();
        guest.sleep(start + TimeUnit.MILLISECONDS.toNanos(20));
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(20));
    }
}
