/*
 * Coverage-guided fuzzing of the virtqueue walker: the guest writes whatever it likes
 * into the descriptors and the available ring (addresses, lengths, flags, next links,
 * heads, the index), and the host takes chains and returns them used, in any order.
 * What must hold: taking a chain reads only, and gives nothing, a chain whose buffers
 * lie inside guest memory with the readable ones first, or a VirtqueueFault (the
 * guest dies with its message, as lguest.c's errx); never another exception; no more
 * chains than the guest's index made available; returning a chain writes only the
 * used ring; and nothing beside the guest's memory changes.
 *
 * ./fuzz VirtqueueRingFuzzTest#hostileRings 10m explores; ./mvnw verify replays the
 * inputs under src/test/resources/dev/lguest/launcher/VirtqueueRingFuzzTestInputs/.
 */
package dev.lguest.launcher;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lguest.api.launcher.DescriptorChain;
import dev.lguest.api.launcher.VirtqueueFault;
import dev.lguest.testing.devices.FuzzedGuestMemory;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

class VirtqueueRingFuzzTest {
    private static final int MEMORY = 64 << 10;
    private static final long BASE = 0x8000;
    private static final int[] SIZES = {1, 2, 4, 8, 16, 64, 128, 256};

    @FuzzTest
    void hostileRings(FuzzedDataProvider data) {
        int num = SIZES[data.consumeInt(0, SIZES.length - 1)];
        try (FuzzedGuestMemory guest = new FuzzedGuestMemory(MEMORY)) {
            VirtqueueRing ring = new VirtqueueRing(guest.memory, "fuzz queue", BASE, num, 3, irq -> { });
            long used = ring.usedRing();
            long usedEnd = used + 4 + 8L * num;
            Deque<DescriptorChain> taken = new ArrayDeque<>();
            int steps = data.consumeInt(1, 48);
            int offered = 0, chains = 0;
            for (int i = 0; i < steps && data.remainingBytes() > 0; i++) {
                switch (data.consumeInt(0, 5)) {
                    case 0, 1 -> {
                        // A descriptor: address, length, flags, next; mostly plausible.
                        long d = BASE + 16L * data.consumeInt(0, num - 1);
                        guest.memory.write64(d, data.consumeBoolean() ? data.consumeLong(0, MEMORY) : data.consumeLong());
                        guest.memory.write32(d + 8, data.consumeBoolean() ? data.consumeInt(0, 4096) : data.consumeInt());
                        guest.memory.write16(d + 12, data.consumeInt(0, 3));
                        guest.memory.write16(d + 14, data.consumeBoolean() ? data.consumeInt(0, num) : data.consumeInt(0, 0xffff));
                    }
                    case 2 -> {
                        // A head offered in the available ring, and the index moved on (or anywhere).
                        long available = ring.availableRing();
                        int index = guest.memory.read16(available + 2);
                        guest.memory.write16(available + 4 + 2L * (index % num),
                                data.consumeBoolean() ? data.consumeInt(0, num - 1) : data.consumeInt(0, 0xffff));
                        int next = data.consumeBoolean() ? index + 1 : data.consumeInt(0, 0xffff);
                        guest.memory.write16(available + 2, next);
                        offered += (next - index) & 0xffff;
                    }
                    case 3 -> {
                        byte[] before = guest.snapshot();
                        DescriptorChain chain;
                        try {
                            chain = ring.next();
                        } catch (VirtqueueFault guestDies) {
                            assertTrue(Arrays.equals(before, guest.snapshot()), "taking a chain wrote guest memory");
                            return;
                        }
                        assertTrue(Arrays.equals(before, guest.snapshot()), "taking a chain wrote guest memory");
                        if (chain != null) {
                            chains++;
                            assertTrue(chains <= offered, chains + " chains taken, " + offered + " offered");
                            assertTrue(chain.head() >= 0 && chain.head() < num, "head " + chain.head());
                            assertTrue(chain.readable().size() + chain.writable().size() <= num, "a chain longer than the ring");
                            for (DescriptorChain.Buffer b : chain.readable()) {
                                assertTrue(guest.memory.contains(b.address(), b.length()), "a buffer outside memory");
                            }
                            for (DescriptorChain.Buffer b : chain.writable()) {
                                assertTrue(guest.memory.contains(b.address(), b.length()), "a buffer outside memory");
                            }
                            taken.add(chain);
                        }
                    }
                    case 4 -> {
                        if (!taken.isEmpty()) {
                            DescriptorChain chain = data.consumeBoolean() ? taken.pollFirst() : taken.pollLast();
                            byte[] before = guest.snapshot();
                            ring.used(chain, data.consumeInt());
                            byte[] after = guest.snapshot();
                            for (int at = 0; at < before.length; at++) {
                                if (before[at] != after[at] && (at < used || at >= usedEnd)) {
                                    throw new AssertionError(String.format("used() wrote %#x, outside the used ring", at));
                                }
                            }
                        }
                    }
                    default -> {
                        // The guest scribbles on its ring anywhere, used ring included.
                        long at = BASE + data.consumeLong(0, VirtqueueRing.bytes(num) - 1);
                        guest.memory.write8(at, data.consumeInt(0, 255));
                    }
                }
            }
            guest.assertGuardsIntact();
        }
    }
}
