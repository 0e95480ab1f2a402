/*
 * Guest memory for the device fuzz tests, with a way to prove a device wrote only
 * where it was allowed to. The guest's memory is a slice of a larger segment with
 * guard pages of a known pattern on both sides; chains are built from fuzzed buffers
 * inside the guest's memory (a guest can name any); and after a request, every byte
 * outside the request's writable buffers must be what it was, and the guards too.
 */
package dev.lguest.testing.devices;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.lguest.api.launcher.DescriptorChain;
import dev.lguest.api.launcher.DescriptorChain.Buffer;
import dev.lguest.api.memory.GuestMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

public final class FuzzedGuestMemory implements AutoCloseable {
    public static final int GUARD_BYTES = 4096;
    private static final byte GUARD = (byte) 0x6B;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment all;
    private final MemorySegment window;
    public final GuestMemory memory;

    public FuzzedGuestMemory(int bytes) {
        all = arena.allocate(bytes + 2L * GUARD_BYTES, 4096);
        all.fill(GUARD);
        window = all.asSlice(GUARD_BYTES, bytes);
        memory = new GuestMemory(window);
    }

    /** Fills the guest's memory from the fuzzer (repeating what it gives), so reads see varied data. */
    public void fill(FuzzedDataProvider data) {
        byte[] pattern = data.consumeBytes(data.consumeInt(0, 256));
        if (pattern.length == 0) {
            return;
        }
        byte[] whole = new byte[(int) window.byteSize()];
        for (int at = 0; at < whole.length; at += pattern.length) {
            System.arraycopy(pattern, 0, whole, at, Math.min(pattern.length, whole.length - at));
        }
        MemorySegment.copy(whole, 0, window, ValueLayout.JAVA_BYTE, 0, whole.length);
    }

    public byte[] snapshot() {
        return window.toArray(ValueLayout.JAVA_BYTE);
    }

    /** A buffer the guest might name: mostly inside its memory, at any place and length. */
    public Buffer buffer(FuzzedDataProvider data) {
        long size = window.byteSize();
        long address = data.consumeLong(0, size - 1);
        long length = data.consumeBoolean() ? data.consumeLong(0, 64) : data.consumeLong(0, size - address);
        return new Buffer(address, Math.min(length, size - address));
    }

    /** A chain of up to four readable then up to four writable buffers. */
    public DescriptorChain chain(FuzzedDataProvider data, int head, List<Buffer> firstReadable) {
        List<Buffer> readable = new ArrayList<>(firstReadable);
        List<Buffer> writable = new ArrayList<>();
        int readables = data.consumeInt(0, 4);
        for (int i = 0; i < readables; i++) {
            readable.add(buffer(data));
        }
        int writables = data.consumeInt(0, 4);
        for (int i = 0; i < writables; i++) {
            writable.add(buffer(data));
        }
        return new DescriptorChain(memory, head, readable, writable);
    }

    /** Every byte outside the chains' writable buffers is as in {@code before}; the guards are intact. */
    public void assertOnlyWritableChanged(byte[] before, List<DescriptorChain> chains) {
        boolean[] allowed = new boolean[before.length];
        for (DescriptorChain chain : chains) {
            for (Buffer b : chain.writable()) {
                for (long at = b.address(); at < b.address() + b.length(); at++) {
                    allowed[(int) at] = true;
                }
            }
        }
        MemorySegment was = MemorySegment.ofArray(before);
        for (long from = 0; from < before.length; ) {
            long differs = was.asSlice(from).mismatch(window.asSlice(from));
            if (differs < 0) {
                break;
            }
            long at = from + differs;
            if (!allowed[(int) at]) {
                throw new AssertionError(String.format("the device wrote guest memory at %#x outside any writable buffer", at));
            }
            from = at + 1;
        }
        assertGuardsIntact();
    }

    public void assertGuardsIntact() {
        MemorySegment pattern = MemorySegment.ofArray(new byte[GUARD_BYTES]).fill(GUARD);
        long below = all.asSlice(0, GUARD_BYTES).mismatch(pattern);
        long above = all.asSlice(GUARD_BYTES + window.byteSize(), GUARD_BYTES).mismatch(pattern);
        if (below >= 0 || above >= 0) {
            throw new AssertionError("a guard byte " + (below >= 0 ? below - GUARD_BYTES + " before" : above + " after")
                    + " the guest's memory changed");
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
