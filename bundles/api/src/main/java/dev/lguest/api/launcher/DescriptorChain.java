package dev.lguest.api.launcher;

import dev.lguest.api.memory.GuestMemory;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * One request on a virtqueue: the chain of descriptors starting at {@code head}, split
 * into the buffers the device may read (the guest filled them) and the ones it may
 * write (VRING_DESC_F_WRITE). Whoever builds a chain has checked every buffer against
 * guest memory, so the accessors here only fault on a bug.
 */
public final class DescriptorChain {
    /** One guest buffer: [address, address + length) of guest-physical memory. */
    public record Buffer(long address, long length) {
    }

    private final GuestMemory memory;
    private final int head;
    private final List<Buffer> readable;
    private final List<Buffer> writable;

    public DescriptorChain(GuestMemory memory, int head, List<Buffer> readable, List<Buffer> writable) {
        this.memory = memory;
        this.head = head;
        this.readable = List.copyOf(readable);
        this.writable = List.copyOf(writable);
        for (Buffer b : this.readable) {
            check(b);
        }
        for (Buffer b : this.writable) {
            check(b);
        }
    }

    private void check(Buffer b) {
        if (!memory.contains(b.address(), b.length())) {
            throw new VirtqueueFault(String.format("buffer %#x+%#x is outside guest memory",
                    b.address(), b.length()));
        }
    }

    /** The index of the first descriptor: what goes into the used ring. */
    public int head() {
        return head;
    }

    public List<Buffer> readable() {
        return readable;
    }

    public List<Buffer> writable() {
        return writable;
    }

    public long readableLength() {
        return readable.stream().mapToLong(Buffer::length).sum();
    }

    public long writableLength() {
        return writable.stream().mapToLong(Buffer::length).sum();
    }

    /** The guest memory behind {@code buffer}, for devices that do I/O straight into it. */
    public MemorySegment segment(Buffer buffer) {
        check(buffer);
        return memory.segment().asSlice(buffer.address(), buffer.length());
    }

    /** Copies {@code bytes} into the writable buffers, in order; returns how much fitted. */
    public int write(byte[] bytes, int offset, int length) {
        int done = 0;
        for (Buffer b : writable) {
            if (done == length) {
                break;
            }
            int n = (int) Math.min(b.length(), length - done);
            memory.write(b.address(), bytes, offset + done, n);
            done += n;
        }
        return done;
    }
}
