package dev.lguest.launcher;

import dev.lguest.api.launcher.ConfigField;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.Virtqueue;
import dev.lguest.api.launcher.VirtqueueFault;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.GuestMemoryFault;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NOTIFY dispatch: from a ring's page to its device, and every failure to a cause of death. */
class GuestDevicesTest {
    private static final long MEM = 4 << 20;
    private final GuestLayout layout = new GuestLayout(MEM);
    private final GuestMemory memory = new GuestMemory(Arena.ofAuto().allocate(layout.totalBytes()));
    private final GuestDevices devices = new GuestDevices(memory, layout);

    /** A device that records its kicks, or fails the way it is told to. */
    private static final class Recorder implements GuestDevice {
        final List<Integer> kicks = new ArrayList<>();
        List<Virtqueue> queues;
        RuntimeException failure;
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
            kicks.add(index);
        }

        @Override
        public void close() {
            closed = true;
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
    void interruptsGoToTheLine() throws Exception {
        Recorder r = new Recorder();
        devices.add("rec", 9, r);
        List<Integer> raised = new ArrayList<>();
        devices.setInterruptLine(raised::add);
        r.queues.get(1).interrupt();
        assertEquals(List.of(2), raised);
    }
}
