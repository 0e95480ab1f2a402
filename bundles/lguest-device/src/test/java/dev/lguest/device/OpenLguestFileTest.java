package dev.lguest.device;

import dev.lguest.api.device.Errno;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.service.ServiceSlot;
import dev.lguest.api.switcher.Switcher;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The /dev/lguest protocol and its error semantics, against a scripted switcher. */
class OpenLguestFileTest {
    private static final int PAGES = 64;

    /** A switcher whose run() does what the test says. */
    static final class ScriptedSwitcher implements Switcher {
        final AtomicReference<java.util.function.ToLongFunction<Guest>> onRun =
                new AtomicReference<>(g -> 0x1234);
        int initializedStart = -1;

        @Override
        public void initialize(Guest guest, int pgdir, int start) {
            initializedStart = start;
        }

        @Override
        public long run(Guest guest) {
            return onRun.get().applyAsLong(guest);
        }

        @Override
        public void release(Guest guest) {
        }
    }

    private final MemorySegment launcherMemory = Arena.ofAuto().allocate(PAGES * 4096L);
    private final ScriptedSwitcher switcher = new ScriptedSwitcher();
    private final OpenLguestFile file = new OpenLguestFile(launcherMemory, slot(switcher), f -> { });

    private static ServiceSlot<Switcher> slot(Switcher s) {
        ServiceSlot<Switcher> slot = new ServiceSlot<>("switcher");
        slot.bind(s);
        return slot;
    }

    static ByteBuffer words(int... words) {
        ByteBuffer b = ByteBuffer.allocate(words.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int w : words) {
            b.putInt(w);
        }
        return b.flip();
    }

    private long initialize() {
        return file.write(words(0, 0, PAGES, 0x3000, 0x100000));
    }

    @Test
    void aSwitcherThrowingIsADeathWithAPlainReason() {
        assertEquals(16, initialize());
        switcher.onRun.set(g -> {
            throw new IllegalStateException("java.lang.IllegalStateException: out of host pages");
        });
        assertEquals(-Errno.ENOENT, file.read(ByteBuffer.allocate(4)));
        ByteBuffer reason = ByteBuffer.allocate(128);
        long n = file.read(reason);
        assertEquals("host failure while running the guest",
                new String(reason.array(), 0, (int) n - 1, StandardCharsets.UTF_8));
    }

    @Test
    void everythingButInitializeNeedsAGuest() {
        assertEquals(-Errno.EINVAL, file.read(ByteBuffer.allocate(4)));
        assertEquals(-Errno.EINVAL, file.write(words(2, 1)));
        assertEquals(-Errno.EINVAL, file.write(words(3, 0)));
    }

    @Test
    void initializeOnceOnly() {
        assertEquals(16, initialize());
        assertEquals(0x100000, switcher.initializedStart);
        assertNotNull(file.guest());
        assertEquals(PAGES, file.guest().pfnLimit);
        assertEquals(-Errno.EBUSY, initialize());
    }

    @Test
    void shortOrImpossibleInitializeFaults() {
        assertEquals(-Errno.EFAULT, file.write(words(0, 0, PAGES)));
        assertEquals(-Errno.EFAULT, file.write(ByteBuffer.allocate(2)));
        // A guest bigger than the Launcher's memory would reach memory that is not there.
        assertEquals(-Errno.EFAULT, file.write(words(0, 0, PAGES + 1, 0, 0)));
        assertEquals(-Errno.EFAULT, file.write(words(0, 4096, PAGES, 0, 0)));
    }

    @Test
    void unknownRequestsAndGetDmaAreInvalid() {
        initialize();
        assertEquals(-Errno.EINVAL, file.write(words(1, 0)));
        assertEquals(-Errno.EINVAL, file.write(words(99)));
    }

    @Test
    void irqs() {
        initialize();
        assertEquals(0, file.write(words(2, 5)));
        assertEquals(1 << 5, file.guest().pendingIrqs());
        assertEquals(-Errno.EINVAL, file.write(words(2, 32)));
        assertEquals(-Errno.EFAULT, file.write(words(2)));
    }

    @Test
    void readRunsTheGuestAndReturnsTheNotify() {
        initialize();
        ByteBuffer reply = ByteBuffer.allocate(8);
        assertEquals(4, file.read(reply));
        assertEquals(0x1234, reply.order(ByteOrder.LITTLE_ENDIAN).getInt(0));
        assertEquals(-Errno.EFAULT, file.read(ByteBuffer.allocate(2)));
    }

    @Test
    void onlyTheOwnerMayRunOrRaiseIrqs() throws Exception {
        initialize();
        CompletableFuture<long[]> other = CompletableFuture.supplyAsync(() -> new long[] {
            file.read(ByteBuffer.allocate(4)), file.write(words(2, 1)), file.write(words(3, 0))});
        long[] results = other.get(10, TimeUnit.SECONDS);
        assertEquals(-Errno.EPERM, results[0]);
        assertEquals(-Errno.EPERM, results[1]);
        assertEquals(0, results[2], "anyone may BREAK");
    }

    @Test
    void breakBlocksUntilOff() throws Exception {
        initialize();
        Guest g = file.guest();
        CompletableFuture<Long> waker = CompletableFuture.supplyAsync(() -> file.write(words(3, 1)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!g.isBrokenOut() && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertTrue(g.isBrokenOut());
        assertFalse(waker.isDone(), "BREAK on waits for off");
        assertEquals(0, file.write(words(3, 0)));
        assertEquals(0L, waker.get(10, TimeUnit.SECONDS));
        assertFalse(g.isBrokenOut());
    }

    @Test
    void aDetachedFileSaysNoDeviceAndItsGuestIsAdopted() {
        initialize();
        Guest g = file.guest();
        file.detach();
        assertEquals(-Errno.ENODEV, file.read(ByteBuffer.allocate(4)));
        assertEquals(-Errno.ENODEV, file.write(words(2, 1)));
        file.close();
        assertFalse(g.isDead(), "closing a detached file leaves its guest alone");

        OpenLguestFile adopted = OpenLguestFile.adopting(g, slot(switcher), f -> { });
        assertEquals(g, adopted.guest());
        assertEquals(-Errno.EBUSY, adopted.write(words(0, 0, PAGES, 0, 0)), "no second INITIALIZE");
        ByteBuffer reply = ByteBuffer.allocate(4);
        assertEquals(4, adopted.read(reply));
        adopted.close();
        assertTrue(g.isDead());
    }

    @Test
    void aReadWaitingForTheNextSwitcherWhenTheDeviceGoesAnswersNoDeviceAndLeavesTheGuestAlone() throws Exception {
        // The device as Declarative Services runs it: its slot loses the switcher when
        // that is updated in place, and the device itself is updated right after.
        ServiceSlot<Switcher> bound = slot(switcher);
        OpenLguestFile running = new OpenLguestFile(launcherMemory, bound, f -> { });
        assertEquals(16, running.write(words(0, 0, PAGES, 0x3000, 0x100000)));
        Guest g = running.guest();
        CountDownLatch handedOver = new CountDownLatch(1);
        switcher.onRun.set(guest -> {
            bound.unbind(switcher);
            handedOver.countDown();
            return Switcher.HANDED_OVER;
        });
        // The guest's owner is the thread that initialized it: this one. The device
        // goes away from another thread while this read waits for a switcher.
        CompletableFuture<Void> deviceUpdate = CompletableFuture.runAsync(() -> {
            try {
                assertTrue(handedOver.await(30, TimeUnit.SECONDS));
                Thread.sleep(20);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            running.detach();
            bound.retire();
        }, runAsyncThread());
        // Not ENOENT with "no switcher is available" after the whole switcher wait: a
        // retired device's slot is never bound again, so the read gives the guest back.
        assertEquals(-Errno.ENODEV, running.read(ByteBuffer.allocate(4)));
        deviceUpdate.get(30, TimeUnit.SECONDS);
        assertFalse(g.isDead(), "the guest waits, parked, for the Launcher to move it");
    }

    private static java.util.concurrent.Executor runAsyncThread() {
        return task -> new Thread(task, "device-update").start();
    }

    @Test
    void aDeadGuestSaysWhy() {
        initialize();
        switcher.onRun.set(g -> {
            g.kill("Power down");
            return -Errno.ENOENT;
        });
        assertEquals(-Errno.ENOENT, file.read(ByteBuffer.allocate(4)));
        ByteBuffer reason = ByteBuffer.allocate(64);
        assertEquals(11, file.read(reason));
        assertEquals("Power down\0", new String(reason.array(), 0, 11, StandardCharsets.UTF_8));
        // A buffer too small gets what fits.
        ByteBuffer small = ByteBuffer.allocate(5);
        assertEquals(5, file.read(small));
        assertEquals(-Errno.ENOENT, file.write(words(2, 1)));
    }
}
