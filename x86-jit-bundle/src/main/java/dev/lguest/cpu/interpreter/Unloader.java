// Asks the JVM for a collection that unloads classes, for the code cache (Translations)
// when it has let go of enough translations. System.gc() is such a collection under
// every collector this platform runs with (ZGC and G1 unload classes in it); it runs on
// a short-lived daemon thread of its own, because the caller waits for the whole
// collection and the guest's thread must not. Requests while one runs are dropped:
// that collection already takes what was let go before it started marking, and the
// next request comes after as many translations again.
package dev.lguest.cpu.interpreter;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

final class Unloader {
    private static final AtomicBoolean RUNNING = new AtomicBoolean();
    /** Collections started, over the JVM's life (the report). */
    static final AtomicLong COLLECTIONS = new AtomicLong();

    private Unloader() {
    }

    static void request() {
        if (!RUNNING.compareAndSet(false, true)) {
            return;
        }
        COLLECTIONS.incrementAndGet();
        Thread thread = new Thread(() -> {
            try {
                System.gc();
            } finally {
                RUNNING.set(false);
            }
        }, "lguest-jit-unloader");
        thread.setDaemon(true);
        thread.start();
    }
}
