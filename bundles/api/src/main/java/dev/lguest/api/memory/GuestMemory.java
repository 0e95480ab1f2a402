package dev.lguest.api.memory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Guest-physical memory: a window onto the Launcher's memory, starting at the "base"
 * the Launcher gave in LHREQ_INITIALIZE.
 *
 * In lguest the guest's memory is simply part of the Launcher process, and the host
 * reaches it with copy_from_user at mem_base + address. Here the Launcher's memory is
 * a {@link MemorySegment}, and this class is the host's checked accessor to it: every
 * access is bounds-checked against the window (lguest_address_ok in spirit), and a
 * bad one throws {@link GuestMemoryFault} instead of touching anything else.
 * All x86 values are little-endian.
 *
 * While a {@link DirtyLog} is attached ({@link #logWrites}), every write through this
 * class marks the pages it touches: that is how the host's own writes into the guest
 * (a trap frame on its stack, the clock in lguest_data, the accessed and dirty bits in
 * its page tables) reach a live migration. Writes through {@link #segment()} bypass it.
 */
public final class GuestMemory {
    private static final ValueLayout.OfShort U16 =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment window;
    private volatile DirtyLog dirtyLog;
    private volatile DirtyLog hostWriteLog;
    private volatile Runnable deviceWriteWatcher;

    public GuestMemory(MemorySegment window) {
        this.window = window;
    }

    /** From now on every write marks its pages in {@code log}; null stops that. */
    public void logWrites(DirtyLog log) {
        this.dirtyLog = log;
    }

    /** The log writes are marked in, or null while nobody tracks them. */
    public DirtyLog dirtyLog() {
        return dirtyLog;
    }

    /**
     * A second log, apart from a migration's: the switcher's, which tells the guest's
     * CPU what the host wrote between two runs, so that code the CPU decoded from
     * those pages is not run stale. Null stops it.
     */
    public void logHostWrites(DirtyLog log) {
        this.hostWriteLog = log;
    }

    /** The log {@link #logHostWrites} attached, or null. */
    public DirtyLog hostWriteLog() {
        return hostWriteLog;
    }

    /**
     * Called when a device wrote [address, address + length) through {@link #segment()}
     * (as DMA would) and before it lets the guest know (the used ring's index): marks
     * the pages in both logs, then tells the watcher ({@link #watchDeviceWrites}). The
     * guest's CPU may be running on another thread and may read the index the moment it
     * is written, so the marks and the watcher come first: the switcher's watcher stops
     * the CPU, which then learns of these pages before it runs another block.
     */
    public void deviceWrote(long address, long length) {
        markLogs(address, length);
        Runnable watcher = deviceWriteWatcher;
        if (watcher != null) {
            watcher.run();
        }
        // The device's next store (the used index) must not become visible before the
        // marks and what the watcher stored (the CPU's stop request).
        VarHandle.releaseFence();
    }

    /** Who {@link #deviceWrote} tells, after marking, from the device's thread; null: nobody. */
    public void watchDeviceWrites(Runnable watcher) {
        this.deviceWriteWatcher = watcher;
    }

    private long written(long address, long length) {
        check(address, length);
        markLogs(address, length);
        return address;
    }

    /** Marks the pages of [address, address + length) in the logs attached: a migration's and the host's. */
    private void markLogs(long address, long length) {
        DirtyLog log = dirtyLog;
        if (log != null) {
            log.markRange(address, length);
        }
        DirtyLog hostLog = hostWriteLog;
        if (hostLog != null) {
            hostLog.markRange(address, length);
        }
    }

    /** The raw window, for components (the CPU's bus) that do their own checking. */
    public MemorySegment segment() {
        return window;
    }

    public long size() {
        return window.byteSize();
    }

    /** True if [address, address+length) lies inside guest memory, without overflow. */
    public boolean contains(long address, long length) {
        return address >= 0 && length >= 0 && address <= window.byteSize() - length;
    }

    private long check(long address, long length) {
        if (!contains(address, length)) {
            throw new GuestMemoryFault(address, length);
        }
        return address;
    }

    public int read8(long address) {
        return window.get(ValueLayout.JAVA_BYTE, check(address, 1)) & 0xff;
    }

    public int read16(long address) {
        return window.get(U16, check(address, 2)) & 0xffff;
    }

    public int read32(long address) {
        return window.get(U32, check(address, 4));
    }

    public long read64(long address) {
        return window.get(U64, check(address, 8));
    }

    public void write8(long address, int value) {
        window.set(ValueLayout.JAVA_BYTE, written(address, 1), (byte) value);
    }

    public void write16(long address, int value) {
        window.set(U16, written(address, 2), (short) value);
    }

    public void write32(long address, int value) {
        window.set(U32, written(address, 4), value);
    }

    public void write64(long address, long value) {
        window.set(U64, written(address, 8), value);
    }

    public void read(long address, byte[] into, int offset, int length) {
        MemorySegment.copy(window, ValueLayout.JAVA_BYTE, check(address, length), into, offset, length);
    }

    public byte[] read(long address, int length) {
        byte[] bytes = new byte[length];
        read(address, bytes, 0, length);
        return bytes;
    }

    public void write(long address, byte[] from, int offset, int length) {
        MemorySegment.copy(from, offset, window, ValueLayout.JAVA_BYTE, written(address, length), length);
    }

    public void write(long address, byte[] from) {
        write(address, from, 0, from.length);
    }

    public void fill(long address, long length, byte value) {
        window.asSlice(written(address, length), length).fill(value);
    }

    /**
     * Reads a NUL-terminated string of at most {@code max} bytes (the terminator need not
     * be found: a guest may pass an unterminated buffer, and gets it cut at max).
     * Reading stops at the end of guest memory rather than faulting.
     */
    public String readCString(long address, int max) {
        if (!contains(address, 1)) {
            throw new GuestMemoryFault(address, 1);
        }
        int limit = (int) Math.min(max, window.byteSize() - address);
        byte[] bytes = new byte[limit];
        int n = 0;
        while (n < limit) {
            byte b = window.get(ValueLayout.JAVA_BYTE, address + n);
            if (b == 0) {
                break;
            }
            bytes[n++] = b;
        }
        return new String(bytes, 0, n, StandardCharsets.ISO_8859_1);
    }
}
