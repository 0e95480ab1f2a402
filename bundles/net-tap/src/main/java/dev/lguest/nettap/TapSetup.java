package dev.lguest.nettap;

import dev.lguest.api.net.NetworkException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Making a TAP interface as lguest.c's setup_tun_net() does: open /dev/net/tun, ask
 * for a TAP device without packet information (TUNSETIFF, IFF_TAP | IFF_NO_PI, name
 * "tap%d", which the kernel numbers), then on an ordinary socket either give it an IPv4
 * address (SIOCSIFADDR; the kernel picks the classful netmask unless one is given,
 * SIOCSIFNETMASK) or add it to a bridge (SIOCBRADDIF), and bring it up (SIOCSIFFLAGS).
 *
 * struct ifreq, x86-64 and aarch64: the name in 16 bytes, then a 24-byte union: the
 * flags (a short), the interface index (an int) or a struct sockaddr_in {u16 family,
 * u16 port, u32 address in network order}.
 */
final class TapSetup {
    static final long TUNSETIFF = 0x400454caL;
    static final long SIOCGIFFLAGS = 0x8913;
    static final long SIOCSIFFLAGS = 0x8914;
    static final long SIOCSIFADDR = 0x8916;
    static final long SIOCSIFNETMASK = 0x891c;
    static final long SIOCBRADDIF = 0x89a2;
    static final short IFF_UP = 1;
    static final short IFF_TAP = 2;
    static final short IFF_NO_PI = 0x1000;
    static final int IFNAMSIZ = 16;
    static final int IFREQ_BYTES = 40;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt NETWORK_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /** What the command line asked for: an address (and prefix), or a bridge. */
    record Request(int address, int prefixLength, String bridge) {
        /** "10.0.0.1", "10.0.0.1/24" or "bridge:br0". */
        static Request parse(String argument) throws NetworkException {
            if (argument.startsWith("bridge:")) {
                String bridge = argument.substring("bridge:".length());
                if (bridge.isEmpty() || bridge.length() >= IFNAMSIZ || !bridge.matches("[A-Za-z0-9_.-]+")) {
                    throw new NetworkException("--tunnet=" + argument + ": not a bridge name");
                }
                return new Request(0, -1, bridge);
            }
            String[] parts = argument.split("/", 2);
            int prefix = -1;
            if (parts.length == 2) {
                try {
                    prefix = Integer.parseInt(parts[1]);
                } catch (NumberFormatException e) {
                    prefix = -2;
                }
                if (prefix < 0 || prefix > 32) {
                    throw new NetworkException("--tunnet=" + argument + ": the prefix length is 0 to 32");
                }
            }
            String[] bytes = parts[0].split("\\.", -1);
            if (bytes.length != 4) {
                throw new NetworkException("--tunnet=" + argument + ": not an IPv4 address (or bridge:NAME)");
            }
            int address = 0;
            for (String b : bytes) {
                int v;
                try {
                    v = Integer.parseInt(b);
                } catch (NumberFormatException e) {
                    v = -1;
                }
                if (v < 0 || v > 255) {
                    throw new NetworkException("--tunnet=" + argument + ": not an IPv4 address (or bridge:NAME)");
                }
                address = (address << 8) | v;
            }
            return new Request(address, prefix, null);
        }

        String describeAddress() {
            return String.format("%d.%d.%d.%d", address >>> 24, (address >>> 16) & 0xff, (address >>> 8) & 0xff,
                    address & 0xff) + (prefixLength >= 0 ? "/" + prefixLength : "");
        }
    }

    /** An open TAP interface: its file descriptor and the name the kernel gave it. */
    record Opened(int fd, String name) {
    }

    private TapSetup() {
    }

    static Opened open(Request request) throws NetworkException {
        try (Arena arena = Arena.ofConfined()) {
            int fd = Libc.open(arena.allocateFrom("/dev/net/tun"), Libc.O_RDWR);
            if (fd < 0) {
                throw new NetworkException("cannot open /dev/net/tun: " + Libc.describe(Libc.errno()));
            }
            boolean done = false;
            try {
                MemorySegment ifr = arena.allocate(IFREQ_BYTES);
                ifr.setString(0, "tap%d");
                ifr.set(SHORT, IFNAMSIZ, (short) (IFF_TAP | IFF_NO_PI));
                if (Libc.ioctl(fd, TUNSETIFF, ifr) != 0) {
                    throw new NetworkException("configuring /dev/net/tun: " + Libc.describe(Libc.errno()));
                }
                String name = ifr.getString(0, StandardCharsets.US_ASCII);
                configure(arena, name, request);
                done = true;
                return new Opened(fd, name);
            } finally {
                if (!done) {
                    Libc.close(fd);
                }
            }
        }
    }

    private static void configure(Arena arena, String name, Request request) throws NetworkException {
        int socket = Libc.socket(Libc.AF_INET, Libc.SOCK_DGRAM, 0);
        if (socket < 0) {
            throw new NetworkException("opening IP socket: " + Libc.describe(Libc.errno()));
        }
        try {
            if (request.bridge() != null) {
                int index = Libc.ifNameToIndex(arena.allocateFrom(name));
                if (index == 0) {
                    throw new NetworkException("interface " + name + " does not exist!");
                }
                MemorySegment ifr = ifreq(arena, request.bridge());
                ifr.set(ValueLayout.JAVA_INT_UNALIGNED, IFNAMSIZ, index);
                if (Libc.ioctl(socket, SIOCBRADDIF, ifr) != 0) {
                    throw new NetworkException("can't add " + name + " to bridge " + request.bridge() + ": "
                            + Libc.describe(Libc.errno()));
                }
            } else {
                if (Libc.ioctl(socket, SIOCSIFADDR, inetReq(arena, name, request.address())) != 0) {
                    throw new NetworkException("Setting " + name + " interface address: "
                            + Libc.describe(Libc.errno()));
                }
                if (request.prefixLength() >= 0) {
                    int mask = request.prefixLength() == 0 ? 0 : -1 << (32 - request.prefixLength());
                    if (Libc.ioctl(socket, SIOCSIFNETMASK, inetReq(arena, name, mask)) != 0) {
                        throw new NetworkException("Setting " + name + " netmask: " + Libc.describe(Libc.errno()));
                    }
                }
            }
            MemorySegment flags = ifreq(arena, name);
            if (Libc.ioctl(socket, SIOCGIFFLAGS, flags) != 0) {
                throw new NetworkException("Reading " + name + " flags: " + Libc.describe(Libc.errno()));
            }
            flags.set(SHORT, IFNAMSIZ, (short) (flags.get(SHORT, IFNAMSIZ) | IFF_UP));
            if (Libc.ioctl(socket, SIOCSIFFLAGS, flags) != 0) {
                throw new NetworkException("Bringing interface " + name + " up: " + Libc.describe(Libc.errno()));
            }
        } finally {
            Libc.close(socket);
        }
    }

    private static MemorySegment ifreq(Arena arena, String name) {
        MemorySegment ifr = arena.allocate(IFREQ_BYTES);
        ifr.setString(0, name);
        return ifr;
    }

    /** An ifreq carrying a struct sockaddr_in with {@code address}. */
    private static MemorySegment inetReq(Arena arena, String name, int address) {
        MemorySegment ifr = ifreq(arena, name);
        ifr.set(SHORT, IFNAMSIZ, (short) Libc.AF_INET);
        ifr.set(NETWORK_INT, IFNAMSIZ + 4, address);
        return ifr;
    }
}
