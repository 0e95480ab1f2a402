package dev.lguest.switcher;

import dev.lguest.api.guest.Guest;

import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The guests' clock: lguest's hrtimer behind SET_CLOCKEVENT.
 *
 * The guest asks for IRQ 0 some nanoseconds from now; the trap service records the
 * deadline in the guest. While the guest runs, a timer here wakes it at that moment
 * (stopping its CPU), and the run loop raises IRQ 0 once the deadline has passed.
 * One timer thread serves every guest of this switcher and dies with it.
 */
final class GuestClock implements AutoCloseable {
    private final ScheduledThreadPoolExecutor timer;
    private final Map<Guest, Armed> armed = new WeakHashMap<>();

    private record Armed(long deadline, ScheduledFuture<?> wake) {
    }

    GuestClock() {
        timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "lguest-clock");
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
    }

    /** Raises IRQ 0 if the deadline passed; otherwise makes sure a wake-up is set for it. */
    void tick(Guest guest) {
        long deadline = guest.clockDeadline;
        if (deadline == 0) {
            return;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            guest.clockDeadline = 0;
            guest.raiseIrq(0);
            return;
        }
        synchronized (armed) {
            Armed current = armed.get(guest);
            if (current == null || current.deadline != deadline) {
                if (current != null) {
                    current.wake.cancel(false);
                }
                armed.put(guest, new Armed(deadline, timer.schedule(guest::wake, left, TimeUnit.NANOSECONDS)));
            }
        }
    }

    void forget(Guest guest) {
        synchronized (armed) {
            Armed current = armed.remove(guest);
            if (current != null) {
                current.wake.cancel(false);
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
