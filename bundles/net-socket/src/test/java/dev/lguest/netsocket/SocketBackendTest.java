package dev.lguest.netsocket;

import dev.lguest.api.net.NetworkException;
import dev.lguest.api.net.NetworkLink;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Two ends of a socket segment on the loopback: frames both ways, a peer leaving, and a listener missing. */
class SocketBackendTest {
    private final SocketBackend backend = new SocketBackend();

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static byte[] frame(int length, int seed) {
        byte[] f = new byte[length];
        for (int i = 0; i < length; i++) {
            f[i] = (byte) (i + seed);
        }
        return f;
    }

    @Test
    void framesCrossBothWaysWhole() throws Exception {
        int port = freePort();
        BlockingQueue<byte[]> atListener = new LinkedBlockingQueue<>();
        BlockingQueue<byte[]> atConnector = new LinkedBlockingQueue<>();
        try (NetworkLink listener = backend.open("listen:" + port, atListener::add);
             NetworkLink connector = backend.open("connect:127.0.0.1:" + port, atConnector::add)) {
            byte[] one = frame(1514, 1);
            byte[] two = frame(60, 2);
            connector.send(one, one.length);
            connector.send(two, two.length);
            assertArrayEquals(one, atListener.poll(10, TimeUnit.SECONDS));
            assertArrayEquals(two, atListener.poll(10, TimeUnit.SECONDS));
            // The listener knows its peer once it has accepted it: the first frame proves that.
            byte[] back = frame(100, 3);
            listener.send(back, back.length);
            assertArrayEquals(back, atConnector.poll(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void aListenerTakesTheNextPeerWhenOneLeaves() throws Exception {
        int port = freePort();
        BlockingQueue<byte[]> atListener = new LinkedBlockingQueue<>();
        try (NetworkLink listener = backend.open("listen:" + port, atListener::add)) {
            NetworkLink first = backend.open("connect:127.0.0.1:" + port, f -> {
            });
            first.send(frame(60, 1), 60);
            assertNotNull(atListener.poll(10, TimeUnit.SECONDS));
            first.close();
            try (NetworkLink second = backend.open("connect:127.0.0.1:" + port, f -> {
            })) {
                byte[] f = frame(70, 2);
                second.send(f, f.length);
                assertArrayEquals(f, atListener.poll(10, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void framesToAPeerThatIsGoneAreDroppedAndCounted() throws Exception {
        int port = freePort();
        try (NetworkLink listener = backend.open("listen:" + port, f -> {
        })) {
            listener.send(frame(60, 0), 60);
            assertTrue(listener.dropped() >= 1, "no peer yet: dropped");
        }
    }

    @Test
    void connectingToNobodyIsOneLine() throws Exception {
        int port = freePort();
        NetworkException e = assertThrows(NetworkException.class, () -> backend.open("connect:127.0.0.1:" + port, f -> {
        }));
        assertTrue(e.getMessage().startsWith("--net=socket:connect:127.0.0.1:" + port + ": cannot connect"),
                e.getMessage());
    }

    @Test
    void aBadArgumentIsOneLine() {
        for (String bad : new String[] {"listen", "listen:x", "connect:4700", "dial:1.2.3.4:5", "listen:70000"}) {
            NetworkException e = assertThrows(NetworkException.class, () -> backend.open(bad, f -> {
            }), bad);
            assertTrue(e.getMessage().startsWith("--net=socket:" + bad + ": "), e.getMessage());
        }
    }
}
