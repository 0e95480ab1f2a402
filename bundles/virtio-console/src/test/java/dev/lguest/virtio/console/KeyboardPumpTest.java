package dev.lguest.virtio.console;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The keyboard thread: it queues what it reads and wakes the guest each time. */
class KeyboardPumpTest {
    @Test
    void queuesInputAndWakesTheGuest() throws Exception {
        PendingInput pending = new PendingInput();
        CountDownLatch woken = new CountDownLatch(1);
        KeyboardPump pump = new KeyboardPump(new ByteArrayInputStream("echo hi\n".getBytes()), pending,
                woken::countDown);
        pump.start();
        assertTrue(woken.await(10, TimeUnit.SECONDS));
        assertEquals("echo hi\n", new String(pending.take(100)));
    }

    @Test
    void aFullBufferMakesTheKeyboardWait() throws Exception {
        PendingInput pending = new PendingInput();
        pending.add(new byte[PendingInput.LIMIT], 0, PendingInput.LIMIT);
        Thread writer = new Thread(() -> {
            try {
                pending.add(new byte[] {1}, 0, 1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        writer.start();
        writer.join(200);
        assertTrue(writer.isAlive(), "the keyboard waits while the guest has not taken its input");
        pending.take(PendingInput.LIMIT);
        writer.join(10_000);
        assertEquals(1, pending.available());
    }
}
