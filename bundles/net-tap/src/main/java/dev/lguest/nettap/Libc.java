package dev.lguest.nettap;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few C library calls a TAP interface needs, through the JDK's foreign function
 * API (x86-64 and aarch64 Linux): open, ioctl, socket, read, write, poll, close,
 * if_nametoindex. Each returns what the C call returns; {@link #errno()} is the errno
 * the last failing call of this thread left, captured by the linker right after it
 * (the JVM may call into libc itself before we could read errno).
 */
final class Libc {
    static final int O_RDWR = 2;
    static final int AF_INET = 2;
    static final int SOCK_DGRAM = 2;
    static final short POLLIN = 1;
    static final int EINTR = 4;
    static final int EAGAIN = 11;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE));

    private static final MethodHandle OPEN = function("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), -1);
    private static final MethodHandle IOCTL = function("ioctl",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS), 2);
    private static final MethodHandle SOCKET = function("socket",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT), -1);
    private static final MethodHandle READ = function("read",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG), -1);
    private static final MethodHandle WRITE = function("write",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG), -1);
    private static final MethodHandle POLL = function("poll",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT), -1);
    private static final MethodHandle CLOSE = function("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), -1);
    private static final MethodHandle IF_NAMETOINDEX = function("if_nametoindex",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS), -1);

    private Libc() {
    }

    /** A downcall that captures errno; {@code firstVariadic} is the index of the first variadic argument, or -1. */
    private static MethodHandle function(String name, FunctionDescriptor descriptor, int firstVariadic) {
        MemorySegment address = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("no " + name + " in the C library"));
        Linker.Option capture = Linker.Option.captureCallState("errno");
        return firstVariadic < 0
                ? LINKER.downcallHandle(address, descriptor, capture)
                : LINKER.downcallHandle(address, descriptor, capture, Linker.Option.firstVariadicArg(firstVariadic));
    }

    static int errno() {
        return (int) ERRNO.get(STATE.get(), 0L);
    }

    private static RuntimeException bug(Throwable t) {
        return t instanceof RuntimeException r ? r : new IllegalStateException(t);
    }

    static int open(MemorySegment path, int flags) {
        try {
            return (int) OPEN.invokeExact(STATE.get(), path, flags);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static int ioctl(int fd, long request, MemorySegment argument) {
        try {
            return (int) IOCTL.invokeExact(STATE.get(), fd, request, argument);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static int socket(int domain, int type, int protocol) {
        try {
            return (int) SOCKET.invokeExact(STATE.get(), domain, type, protocol);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static long read(int fd, MemorySegment buffer, long count) {
        try {
            return (long) READ.invokeExact(STATE.get(), fd, buffer, count);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static long write(int fd, MemorySegment buffer, long count) {
        try {
            return (long) WRITE.invokeExact(STATE.get(), fd, buffer, count);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static int poll(MemorySegment fds, long count, int timeoutMillis) {
        try {
            return (int) POLL.invokeExact(STATE.get(), fds, count, timeoutMillis);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static int close(int fd) {
        try {
            return (int) CLOSE.invokeExact(STATE.get(), fd);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static int ifNameToIndex(MemorySegment name) {
        try {
            return (int) IF_NAMETOINDEX.invokeExact(STATE.get(), name);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    /** A few errnos by name, for messages; the number otherwise. */
    static String describe(int errno) {
        return switch (errno) {
            case 1 -> "operation not permitted (needs CAP_NET_ADMIN)";
            case 2 -> "no such file or directory";
            case 13 -> "permission denied";
            case 16 -> "device or resource busy";
            case 19 -> "no such device";
            case 22 -> "invalid argument";
            default -> "errno " + errno;
        };
    }
}
