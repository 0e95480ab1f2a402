package dev.lguest.virtio.console;

import dev.lguest.testing.devices.RecordingDeviceHost;
import dev.lguest.api.launcher.ConsoleState;
import dev.lguest.api.launcher.DeviceHandover;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.QueuePosition;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The console's hand-over: keystrokes waiting in the old console and its ^C count go
 * to the new one, and the old one, resumed after a failed hand-over, still has them.
 */
class ConsoleHandoverTest {
    @Test
    void waitingKeystrokesAndTheControlCCountMoveToTheSuccessor() throws Exception {
        RecordingDeviceHost host = new RecordingDeviceHost();
        ConsoleDevice old = new ConsoleDevice(host);
        old.pendingInput().add("ls\n".getBytes(), 0, 3);
        old.pendingInput().add(new byte[] {ControlCAbort.CONTROL_C}, 0, 1);
        ConsoleState state = (ConsoleState) old.suspend();
        assertArrayEquals(new byte[] {'l', 's', '\n', ControlCAbort.CONTROL_C}, state.pendingInput());

        old.resume();
        assertEquals(4, old.pendingInput().available(), "a resumed console keeps its keystrokes");

        GuestDevice next = new VirtioConsole().adopt(new DeviceHandover(VirtioConsole.TYPE, "console",
                List.of(new QueuePosition(0, 0), new QueuePosition(3, 3)), List.of(), state), host);
        old.retire();
        assertEquals(4, ((ConsoleDevice) next).pendingInput().available());
        next.close();
    }
}
