package dev.lguest.netsocket;

import dev.lguest.api.net.FrameReceiver;
import dev.lguest.api.net.NetworkBackend;
import dev.lguest.api.net.NetworkException;
import dev.lguest.api.net.NetworkLink;
import org.osgi.service.component.annotations.Component;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * The "socket" network backend: two guests in two processes (or on two machines) on
 * one Ethernet segment over one TCP connection, as QEMU's -netdev socket joins its
 * guests. One side listens ({@code --net=socket:listen:PORT}, on 127.0.0.1, or
 * {@code listen:HOST:PORT}), the other connects ({@code --net=socket:connect:HOST:PORT});
 * each frame goes as a 4-byte big-endian length and the frame, QEMU's stream format.
 *
 * The listening side boots at once and takes its peer when it comes (and the next one
 * when that one goes); the connecting side needs the listener to be there at boot, and
 * says so in one line if it is not. A peer that goes away takes the link down: frames
 * are dropped and counted until another connects.
 */
@Component(service = NetworkBackend.class)
public final class SocketBackend implements NetworkBackend {
    @Override
    public String kind() {
        return "socket";
    }

    @Override
    public NetworkLink open(String argument, FrameReceiver receiver) throws NetworkException {
        String usage = "--net=socket:" + argument + ": say listen:[HOST:]PORT or connect:HOST:PORT";
        int colon = argument.indexOf(':');
        if (colon < 0) {
            throw new NetworkException(usage);
        }
        String mode = argument.substring(0, colon);
        String where = argument.substring(colon + 1);
        int portColon = where.lastIndexOf(':');
        String host = portColon < 0 ? "127.0.0.1" : where.substring(0, portColon);
        int port;
        try {
            port = Integer.parseInt(where.substring(portColon + 1));
        } catch (NumberFormatException e) {
            throw new NetworkException(usage);
        }
        if (port <= 0 || port > 65535) {
            throw new NetworkException(usage);
        }
        switch (mode) {
            case "listen" -> {
                try {
                    ServerSocket server = new ServerSocket();
                    server.setReuseAddress(true);
                    server.bind(new InetSocketAddress(host, port));
                    return new SocketLink("socket listening on " + host + ":" + port, server, null, receiver);
                } catch (IOException e) {
                    throw new NetworkException("--net=socket:" + argument + ": cannot listen on " + host + ":" + port
                            + ": " + e.getMessage());
                }
            }
            case "connect" -> {
                if (portColon < 0) {
                    throw new NetworkException(usage);
                }
                try {
                    Socket socket = new Socket();
                    socket.connect(new InetSocketAddress(host, port), 5_000);
                    return new SocketLink("socket to " + host + ":" + port, null, socket, receiver);
                } catch (IOException e) {
                    throw new NetworkException("--net=socket:" + argument + ": cannot connect to " + host + ":" + port
                            + ": " + e.getMessage());
                }
            }
            default -> throw new NetworkException(usage);
        }
    }
}
