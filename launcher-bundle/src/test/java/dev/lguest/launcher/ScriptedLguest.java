package dev.lguest.launcher;

import dev.lguest.api.device.Errno;
import dev.lguest.api.device.LguestDevice;
import dev.lguest.api.device.LguestFile;
import dev.lguest.api.device.LguestRequest;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.LongSupplier;

/**
 * A /dev/lguest that runs no CPU: each read of a live guest does the next step of a
 * script (a NOTIFY address, EAGAIN as if the Waker broke in, or a death), and a dead
 * guest's reads answer with its reason at once, as lguest_user.c's read does.
 */
final class ScriptedLguest implements LguestDevice, LguestFile {
    private final Deque<LongSupplier> steps = new ArrayDeque<>();
    private final ByteBuffer notifyWord = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    private volatile Guest guest;
    private MemorySegment memory;

    /** The next read breaks out with EAGAIN: the devices are asked to take their input. */
    ScriptedLguest breakOut() {
        steps.add(() -> -Errno.EAGAIN);
        return this;
    }

    /** The next read returns a NOTIFY of {@code address}. */
    ScriptedLguest notifyAt(int address) {
        steps.add(() -> {
            notifyWord.clear();
            notifyWord.putInt(address);
            return 4;
        });
        return this;
    }

    /** The next read finds the guest dying of {@code reason} (a LHCALL_CRASH, say): ENOENT. */
    ScriptedLguest dies(String reason) {
        steps.add(() -> {
            guest.kill(reason);
            return -Errno.ENOENT;
        });
        return this;
    }

    @Override
    public LguestFile open(MemorySegment launcherMemory) {
        memory = launcherMemory;
        return this;
    }

    @Override
    public LguestFile adopt(Guest g) {
        return this;
    }

    @Override
    public long write(ByteBuffer request) {
        ByteBuffer in = request.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int req = in.getInt();
        if (req == LguestRequest.INITIALIZE) {
            guest = new Guest(new GuestMemory(memory), new PhysicalMemory(memory),
                    (int) (memory.byteSize() / PhysicalMemory.PAGE_SIZE), Thread.currentThread());
            return 16;
        }
        return guest.isDead() ? -Errno.ENOENT : 0;
    }

    @Override
    public long read(ByteBuffer into) {
        if (guest.isDead()) {
            byte[] reason = (guest.deadReason() + "\0").getBytes(StandardCharsets.UTF_8);
            int len = Math.min(into.remaining(), reason.length);
            into.put(reason, 0, len);
            return len;
        }
        if (steps.isEmpty()) {
            guest.kill("the script ended");
            return -Errno.ENOENT;
        }
        long result = steps.poll().getAsLong();
        if (result == 4) {
            into.put(notifyWord.flip());
        }
        return result;
    }

    @Override
    public Guest guest() {
        return guest;
    }

    @Override
    public void close() {
    }
}
