package dev.lguest.launcher;

import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.ConfigField;
import dev.lguest.api.launcher.DeviceHandover;
import dev.lguest.api.launcher.DeviceHost;
import dev.lguest.api.launcher.DeviceState;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.HandoverException;
import dev.lguest.api.launcher.LauncherDevice;
import dev.lguest.api.launcher.Virtqueue;
import dev.lguest.api.launcher.VirtqueueFault;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.GuestMemoryFault;
import dev.lguest.testing.devices.RecordingDeviceHost;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * NOTIFY dispatch: from a ring's page to its device, and every failure to a cause of
 * death; and the hand-over of a device to another implementation, on the swapping
 * thread, never at the same time as a device call.
 */
class GuestDevicesTest {
    private static final long MEM = 4 << 20;
    private final GuestLayout layout = new GuestLayout(MEM);
    private final GuestMemory memory = new GuestMemory(Arena.ofAuto().allocate(layout.totalBytes()));
    // A NOTIFY to a parked device does not wait here, unless a test says so.
    private final GuestDevices devices = new GuestDevices(memory, layout, 0);

    /** A device that records its kicks, or fails the way it is told to. */
    private static class Recorder implements GuestDevice {
        final List<Integer> kicks = new ArrayList<>();
        final List<String> handOverCalls = new ArrayList<>();
        List<Virtqueue> queues;
        RuntimeException failure;
        Error error;
        boolean closed;

        @Override
        public int queueCount() {
            return 2;
        }

        @Override
        public List<ConfigField> configFields() {
            return List.of();
        }

        @Override
        public String describe() {
            return "recorder";
        }

        @Override
        public void connect(List<Virtqueue> q) {
            queues = q;
        }

        @Override
        public void notified(int index) {
            if (failure != null) {
                throw failure;
            }
            if (error != null) {
                throw error;
            }
            kicks.add(index);
        }

        @Override
        public void serviceInput() {
            if (error != null) {
                throw error;
            }
        }

        @Override
        public DeviceState suspend() {
            handOverCalls.add("suspend on " + Thread.currentThread().getName());
            return new Kicks(List.copyOf(kicks));
        }

        @Override
        public void resume() {
            handOverCalls.add("resume");
        }

        @Override
        public void retire() {
            handOverCalls.add("retire");
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    /** A recorder's state: the kicks it saw. */
    private record Kicks(List<Integer> seen) implements DeviceState {
    }

    /** A kind of device that makes recorders, and takes a recorder's kicks over (or refuses to). */
    private static final class RecorderKind implements LauncherDevice {
        final List<DeviceHandover> adopted = new ArrayList<>();
        Recorder made;
        boolean refuse;

        @Override
        public int type() {
            return 9;
        }

        @Override
        public String name() {
            return "rec";
        }

        @Override
        public Optional<GuestDevice> attach(BootSpec spec, DeviceHost host) {
            return Optional.of(new Recorder());
        }

        @Override
        public GuestDevice adopt(DeviceHandover handover, DeviceHost host) throws HandoverException {
            if (refuse) {
                throw new HandoverException("rec: refused");
            }
            adopted.add(handover);
            made = new Recorder();
            made.kicks.addAll(((Kicks) handover.state()).seen());
            return made;
        }
    }

    @Test
    void aNotifyNamesARingByItsPage() throws Exception {
        Recorder r = new Recorder();
        devices.add("rec", 9, r);
        assertEquals(2, r.queues.size());
        assertEquals(1, r.queues.get(0).irq());
        assertNull(devices.notify(MEM + 0x3000));
        assertNull(devices.notify(MEM + 0x1000));
        assertEquals(List.of(1, 0), r.kicks);
        assertEquals("rec", devices.nameOf(MEM + 0x1000));
    }

    @Test
    void everyFailureBecomesAReason() throws Exception {
        Recorder r = new Recorder();
        devices.add("rec", 9, r);
        assertEquals("bad NOTIFY 0x402000: no virtqueue there", devices.notify(MEM + 0x2000));
        r.failure = new VirtqueueFault("rec queue 0: a loop");
        assertEquals("rec queue 0: a loop", devices.notify(MEM + 0x1000));
        r.failure = new GuestMemoryFault(0x123456789L, 4);
        assertEquals("rec: bad guest memory access at 0x123456789", devices.notify(MEM + 0x1000));
        r.failure = new IllegalStateException("oops");
        // A device's own bug is logged; the guest's reason carries no Java text.
        assertEquals("device rec failed in the Launcher", devices.notify(MEM + 0x1000));
        devices.close();
        assertTrue(r.closed);
    }

    @Test
    void aDeviceWhoseClassesCannotLoadKillsTheGuestPlainly() throws Exception {
        // What a device whose bundle was updated under it throws: its wiring is gone,
        // the next class it needs cannot load. The guest dies with a plain reason; no
        // Error leaves on the guest's thread.
        Recorder r = new Recorder();
        devices.add("rec", 9, r);
        r.error = new NoClassDefFoundError("dev/lguest/virtio/block/BlockRequest");
        assertEquals("device rec failed in the Launcher", devices.notify(MEM + 0x1000));
        assertEquals("device rec failed in the Launcher", devices.serviceInput());
    }

    @Test
    void interruptsGoToTheLine() throws Exception {
        Recorder r = new Recorder();
        devices.add("rec", 9, r);
        List<Integer> raised = new ArrayList<>();
        devices.setInterruptLine(raised::add);
        r.queues.get(1).interrupt();
        assertEquals(List.of(2), raised);
    }

    @Test
    void aHandOverWaitsForTheDeviceCallUnderWayAndHappensOnTheSwappingThread() throws Exception {
        RecorderKind first = new RecorderKind();
        RecorderKind second = new RecorderKind();
        CountDownLatch inCall = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Recorder old = new Recorder() {
            @Override
            public void notified(int index) {
                super.notified(index);
                if (kicks.size() == 2) {
                    // The second kick stays in the device until the test lets it go.
                    inCall.countDown();
                    awaitQuietly(release);
                }
            }
        };
        devices.add("rec", 9, first, old);
        assertNull(devices.notify(MEM + 0x1000));
        CompletableFuture<String> guestCall = CompletableFuture.supplyAsync(() -> devices.notify(MEM + 0x3000));
        assertTrue(inCall.await(10, TimeUnit.SECONDS));

        RecordingDeviceHost host = new RecordingDeviceHost();
        CompletableFuture<Integer> swap = new CompletableFuture<>();
        Thread swapper = new Thread(() -> {
            try {
                swap.complete(devices.handOverUnbound(List.of(second), host, TimeUnit.SECONDS.toNanos(10)));
            } catch (Throwable t) {
                swap.completeExceptionally(t);
            }
        }, "swapper");
        swapper.start();
        // While the guest's call is in the old device, the hand-over does not start.
        Thread.sleep(200);
        assertFalse(swap.isDone());
        assertTrue(old.handOverCalls.isEmpty());

        release.countDown();
        assertNull(guestCall.get(10, TimeUnit.SECONDS));
        assertEquals(1, swap.get(10, TimeUnit.SECONDS));
        assertEquals(List.of("suspend on swapper", "retire"), old.handOverCalls);
        // The successor took the old one's state, and the rings where they stood.
        DeviceHandover handover = second.adopted.getFirst();
        assertEquals(List.of(0, 1), second.made.kicks);
        assertEquals(2, handover.queues().size());
        assertEquals(List.of("device rec handed over to a new implementation"), host.verboseLines);
        // The guest's next NOTIFY goes to the successor, on the same ring page.
        assertNull(devices.notify(MEM + 0x1000));
        assertEquals(List.of(0, 1, 0), second.made.kicks);
        assertEquals(List.of(0, 1), old.kicks);
        assertSame(second, devices.attached().getFirst().kind());
        // Bound again as it is: nothing to hand over.
        assertEquals(0, devices.handOverUnbound(List.of(second), host, 0));
    }

    @Test
    void aRefusedHandOverLeavesTheOldDeviceRunning() throws Exception {
        RecorderKind first = new RecorderKind();
        RecorderKind second = new RecorderKind();
        second.refuse = true;
        Recorder old = new Recorder();
        devices.add("rec", 9, first, old);
        RecordingDeviceHost host = new RecordingDeviceHost();
        assertEquals(0, devices.handOverUnbound(List.of(second), host, 0));
        assertEquals(List.of("suspend on " + Thread.currentThread().getName(), "resume"), old.handOverCalls);
        assertEquals(List.of("device rec not handed over: rec: refused"), host.verboseLines);
        assertNull(devices.notify(MEM + 0x1000));
        assertEquals(List.of(0), old.kicks);
    }

    @Test
    void aDeviceWithNoSuccessorIsParkedAndTheSuccessorServesWhatTheGuestQueuedMeanwhile() throws Exception {
        RecorderKind first = new RecorderKind();
        RecorderKind second = new RecorderKind();
        Recorder old = new Recorder();
        devices.add("rec", 9, first, old);
        assertNull(devices.notify(MEM + 0x1000));
        RecordingDeviceHost host = new RecordingDeviceHost();

        // Its bundle stops before the new revision starts: no service of its type bound.
        // The old device is suspended and retired now, while its classes still load.
        assertEquals(0, devices.handOverUnbound(List.of(), host, 0));
        String thisThread = Thread.currentThread().getName();
        assertEquals(List.of("suspend on " + thisThread, "retire"), old.handOverCalls);
        assertTrue(devices.attached().getFirst().isParked());
        assertEquals(List.of("device rec parked until a new implementation is bound"), host.verboseLines);
        // Unbinding again changes nothing: it stays parked, not suspended twice.
        assertEquals(0, devices.handOverUnbound(List.of(), host, 0));
        assertEquals(2, old.handOverCalls.size());

        // The guest queues a request meanwhile and no successor comes in time: no
        // implementation runs, the buffers wait.
        assertNull(devices.notify(MEM + 0x3000));
        assertNull(devices.serviceInput());
        assertEquals(List.of(0), old.kicks);

        // The new revision's service binds: it adopts the parked state and the rings...
        assertEquals(1, devices.handOverUnbound(List.of(second), host, 0));
        assertFalse(devices.attached().getFirst().isParked());
        assertSame(second, devices.attached().getFirst().kind());
        assertEquals(List.of(0), second.made.kicks);
        assertEquals(2, second.adopted.getFirst().queues().size());
        // ...and the guest's thread kicks it on every queue at its next input service,
        // once, so it serves what waits in the rings.
        assertNull(devices.serviceInput());
        assertEquals(List.of(0, 0, 1), second.made.kicks);
        assertNull(devices.serviceInput());
        assertEquals(List.of(0, 0, 1), second.made.kicks);
        assertNull(devices.notify(MEM + 0x1000));
        assertEquals(List.of(0, 0, 1, 0), second.made.kicks);
        assertEquals(List.of(0), old.kicks);
    }

    @Test
    void aNotifyToAParkedDeviceWaitsForTheSuccessorAndIsServedByIt() throws Exception {
        GuestDevices waiting = new GuestDevices(memory, layout, TimeUnit.SECONDS.toNanos(30));
        RecorderKind second = new RecorderKind();
        Recorder old = new Recorder();
        waiting.add("rec", 9, new RecorderKind(), old);
        RecordingDeviceHost host = new RecordingDeviceHost();
        assertEquals(0, waiting.handOverUnbound(List.of(), host, 0));
        // The guest's NOTIFY stands still while the device is parked...
        CompletableFuture<String> guestCall = CompletableFuture.supplyAsync(() -> waiting.notify(MEM + 0x3000));
        Thread.sleep(200);
        assertFalse(guestCall.isDone());
        // ...and does not keep the successor out: it adopts, and serves that NOTIFY.
        assertEquals(1, waiting.handOverUnbound(List.of(second), host, TimeUnit.SECONDS.toNanos(10)));
        assertNull(guestCall.get(10, TimeUnit.SECONDS));
        assertEquals(List.of(1), second.made.kicks);
        assertTrue(old.kicks.isEmpty());
        waiting.close();
    }

    @Test
    void aParkedDeviceIsSavedWithItsParkedStateAndClosesWhatTheStateHolds() throws Exception {
        Recorder old = new Recorder() {
            @Override
            public DeviceState suspend() {
                super.suspend();
                return new HeldFile(new Closeable());
            }
        };
        devices.add("rec", 9, new RecorderKind(), old);
        devices.handOverUnbound(List.of(), new RecordingDeviceHost(), 0);
        List<GuestDevices.SavedDevice> saved = devices.capture();
        assertEquals(1, saved.size());
        HeldFile state = (HeldFile) saved.getFirst().state();
        assertEquals(2, saved.getFirst().rings().size());
        // Saving a parked device calls nothing of the retired one.
        assertEquals(List.of("suspend on " + Thread.currentThread().getName(), "retire"), old.handOverCalls);
        devices.close();
        assertTrue(state.file().closed);
        assertFalse(old.closed);
    }

    /** What a disk's state holds: something the guest's end must close. */
    private static final class Closeable implements AutoCloseable {
        boolean closed;

        @Override
        public void close() {
            closed = true;
        }
    }

    /** A state holding an open resource, as a disk's holds its file. */
    private record HeldFile(Closeable file) implements DeviceState {
        @Override
        public void release() {
            file.close();
        }
    }

    @Test
    void aGuestThatEndedHandsNothingOver() throws Exception {
        Recorder old = new Recorder();
        devices.add("rec", 9, new RecorderKind(), old);
        devices.close();
        assertEquals(0, devices.handOverUnbound(List.of(new RecorderKind()), new RecordingDeviceHost(), 0));
        assertTrue(old.handOverCalls.isEmpty());
        assertTrue(old.closed);
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
