/*
 * The typed console input: bytes come out in the order typed, a read blocks until
 * something is typed, end of input is end of stream, and an interrupt (how the
 * virtio console stops its reader) ends a blocked read.
 */
package dev.lguest.exam;

import org.junit.jupiter.api.Test;

import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

class ConsoleInputTest {
    @Test
    void bytesComeOutInOrderThenEndOfStream() throws Exception {
        ConsoleInput input = new ConsoleInput();
        input.feed("ab".getBytes(StandardCharsets.US_ASCII));
        input.feed("c".getBytes(StandardCharsets.US_ASCII));
        input.end();
        assertEquals("abc", new String(input.readAllBytes(), StandardCharsets.US_ASCII));
        assertEquals(-1, input.read());
    }

    @Test
    void aReadWaitsForTyping() throws Exception {
        ConsoleInput input = new ConsoleInput();
        AtomicReference<Integer> got = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            try {
                got.set(input.read());
            } catch (InterruptedIOException e) {
                got.set(-2);
            }
        });
        reader.start();
        Thread.sleep(50);
        assertEquals(null, got.get(), "nothing typed yet");
        input.feed(new byte[] {'x'});
        reader.join(5000);
        assertEquals((int) 'x', got.get());
    }

    @Test
    void anInterruptEndsABlockedRead() throws Exception {
        ConsoleInput input = new ConsoleInput();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            try {
                input.read(new byte[8], 0, 8);
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        reader.start();
        Thread.sleep(50);
        reader.interrupt();
        reader.join(5000);
        assertInstanceOf(InterruptedIOException.class, failure.get());
    }
}
