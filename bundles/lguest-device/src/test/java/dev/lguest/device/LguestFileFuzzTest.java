/*
 * Coverage-guided fuzzing of the /dev/lguest write and read protocol: the Launcher
 * (a user, so hostile as a guest) writes any bytes in any order. Each input is a
 * sequence of calls on one open file; a second file's guest, set up properly, lives
 * beside it. Whatever the calls, every one answers a byte count or one of the errnos
 * lguest_user.c gives, never a Java exception; a guest created by the file lies inside
 * the Launcher's memory (the memory around it, guard pages of a known pattern, stays
 * unchanged when the guest writes its first and last bytes); and the other guest is
 * neither killed nor touched.
 *
 * ./fuzz LguestFileFuzzTest#writesAndReads 10m   explores; ./mvnw verify replays the
 * inputs under src/test/resources/dev/lguest/device/LguestFileFuzzTestInputs/.
 */
package dev.lguest.device;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lguest.api.device.Errno;
import dev.lguest.api.device.LguestRequest;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.service.ServiceSlot;
import dev.lguest.api.switcher.Switcher;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LguestFileFuzzTest {
    private static final long PAGE = 4096;
    private static final int LAUNCHER_PAGES = 32;
    private static final byte GUARD = (byte) 0xA5;
    private static final Set<Long> ERRNOS = Set.of((long) -Errno.EFAULT, (long) -Errno.EINVAL,
            (long) -Errno.ENOENT, (long) -Errno.EPERM, (long) -Errno.EBUSY, (long) -Errno.EIO, (long) -Errno.EINTR,
            (long) -Errno.ENODEV);

    /** A switcher that runs a guest by writing its first and last byte, then answers as told. */
    private static final class TouchingSwitcher implements Switcher {
        long answer;
        boolean kill;

        @Override
        public void initialize(Guest guest, int pgdir, int start) {
        }

        @Override
        public long run(Guest guest) {
            long size = guest.memory.size();
            if (size > 0) {
                guest.memory.write8(0, 0x11);
                guest.memory.write8(size - 1, 0x22);
            }
            if (kill) {
                guest.kill("fuzzed death");
                return -Errno.ENOENT;
            }
            return answer;
        }

        @Override
        public void release(Guest guest) {
        }
    }

    @FuzzTest
    void writesAndReads(FuzzedDataProvider data) {
        try (Arena arena = Arena.ofConfined()) {
            // [guard page][the Launcher's memory][guard page][the other guest's memory]
            MemorySegment all = arena.allocate((LAUNCHER_PAGES + 2 + 4) * PAGE, PAGE);
            all.fill(GUARD);
            MemorySegment launcherMemory = all.asSlice(PAGE, LAUNCHER_PAGES * PAGE);
            launcherMemory.fill((byte) 0);
            MemorySegment otherMemory = all.asSlice((LAUNCHER_PAGES + 2) * PAGE, 4 * PAGE);
            otherMemory.fill((byte) 0x5A);

            TouchingSwitcher switcher = new TouchingSwitcher();
            ServiceSlot<Switcher> slot = new ServiceSlot<>("switcher");
            slot.bind(switcher);
            OpenLguestFile other = new OpenLguestFile(otherMemory, slot, f -> { });
            assertEquals(16, other.write(words(LguestRequest.INITIALIZE, 0, 4, 0, 0x1000)));
            Guest otherGuest = other.guest();
            byte[] otherBefore = otherMemory.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);

            OpenLguestFile file = new OpenLguestFile(launcherMemory, slot, f -> { });
            int calls = data.consumeInt(1, 24);
            for (int i = 0; i < calls && data.remainingBytes() > 0; i++) {
                switch (data.consumeInt(0, 5)) {
                    case 0 -> checkWrite(file.write(request(data)));
                    case 1 -> checkWrite(file.write(withoutBreakOn(data.consumeBytes(data.consumeInt(0, 40)))));
                    case 2 -> {
                        // A switcher answers a notify address (an unsigned word) or kills the guest.
                        switcher.answer = Integer.toUnsignedLong(data.consumeInt());
                        switcher.kill = data.consumeBoolean();
                        ByteBuffer into = ByteBuffer.allocate(data.consumeInt(0, 64));
                        long n = file.read(into);
                        assertTrue(n >= 0 ? n <= into.capacity() : ERRNOS.contains(n), "read gave " + n);
                    }
                    case 3 -> file.close();
                    case 4 -> breakOnAndOff(file);
                    default -> {
                        Guest g = file.guest();
                        if (g != null) {
                            g.kill("fuzzed kill");
                        }
                    }
                }
                Guest g = file.guest();
                if (g != null) {
                    MemorySegment window = g.memory.segment();
                    long offset = window.address() - launcherMemory.address();
                    assertTrue(offset >= 0 && offset + window.byteSize() <= launcherMemory.byteSize(),
                            "the guest's memory lies outside the Launcher's");
                }
            }
            file.close();

            for (long at = 0; at < all.byteSize(); at += PAGE) {
                boolean guard = at < PAGE || (at >= (LAUNCHER_PAGES + 1) * PAGE && at < (LAUNCHER_PAGES + 2) * PAGE);
                if (guard) {
                    for (long b = at; b < at + PAGE; b++) {
                        assertEquals(GUARD, all.get(java.lang.foreign.ValueLayout.JAVA_BYTE, b),
                                "guard byte " + b + " changed");
                    }
                }
            }
            assertFalse(otherGuest.isDead(), "the other guest died: " + otherGuest.deadReason());
            assertTrue(java.util.Arrays.equals(otherBefore, otherMemory.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)),
                    "the other guest's memory changed");
            other.close();
        }
    }

    /** A request of the protocol's shape: a known number (mostly), then a few words. */
    private static ByteBuffer request(FuzzedDataProvider data) {
        int req = data.consumeBoolean() ? data.consumeInt(0, 4) : data.consumeInt();
        int count = data.consumeInt(0, 5);
        int[] words = new int[count + 1];
        words[0] = req;
        for (int i = 1; i <= count; i++) {
            words[i] = data.consumeBoolean() ? data.consumeInt(0, LAUNCHER_PAGES + 2) : data.consumeInt();
        }
        // BREAK "on" from the owner waits for its own "off" (as lguest's does): not a crash.
        if (req == LguestRequest.BREAK && count >= 1) {
            words[1] = 0;
        }
        return words(words);
    }

    /**
     * BREAK "on" from another thread (the Waker's way), then "off" from the owner: the
     * "on" returns once the "off" is written, or at once when there is no live guest.
     */
    private static void breakOnAndOff(OpenLguestFile file) {
        java.util.concurrent.CompletableFuture<Long> on = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> file.write(words(LguestRequest.BREAK, 1)));
        Guest g = file.guest();
        while (!on.isDone() && g != null && !g.isBrokenOut()) {
            Thread.onSpinWait();
        }
        long off = file.write(words(LguestRequest.BREAK, 0));
        checkWrite(off);
        checkWrite(on.join());
    }

    /** The same bytes, with a BREAK "on" made "off": from the owner it would wait for itself. */
    private static ByteBuffer withoutBreakOn(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length >= 8 && b.getInt(0) == LguestRequest.BREAK) {
            b.putInt(4, 0);
        }
        return b;
    }

    private static void checkWrite(long result) {
        assertTrue(result == 0 || result == 16 || ERRNOS.contains(result), "write gave " + result);
    }

    private static ByteBuffer words(int... words) {
        ByteBuffer b = ByteBuffer.allocate(words.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int w : words) {
            b.putInt(w);
        }
        return b.flip();
    }
}
