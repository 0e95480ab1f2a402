package dev.lguest.virtio.block;

import dev.lguest.testing.devices.RecordingDeviceHost;
import dev.lguest.api.launcher.BlockState;
import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.ConfigField;
import dev.lguest.api.launcher.ConsoleState;
import dev.lguest.api.launcher.DeviceHandover;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.HandoverException;
import dev.lguest.api.launcher.QueuePosition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The disk's hand-over: the state carries the open file and the configuration; the
 * old device, retired, leaves the file open for its successor, which presents the
 * same configuration and closes the file when the guest ends.
 */
class BlockHandoverTest {
    @TempDir
    Path dir;

    @Test
    void theSuccessorTakesTheOpenDiskAndTheSameConfiguration() throws Exception {
        Path disk = dir.resolve("disk.img");
        Files.write(disk, new byte[16 * 512]);
        RecordingDeviceHost host = new RecordingDeviceHost();
        GuestDevice old = new VirtioBlock().attach(new BootSpec(16, null, new byte[1], null, disk, List.of(), false),
                host).orElseThrow();
        BlockState state = (BlockState) old.suspend();
        assertEquals(16, state.capacitySectors());
        DeviceHandover handover = new DeviceHandover(VirtioBlock.TYPE, "block", List.of(new QueuePosition(5, 5)),
                old.configFields(), state);
        GuestDevice next = new VirtioBlock().adopt(handover, host);
        old.retire();
        old.close();
        assertTrue(state.file().isOpen(), "a retired device leaves the disk to its successor");
        assertEquals(fields(handover.config()), fields(next.configFields()));
        next.close();
        assertTrue(!state.file().isOpen(), "the successor closes the disk");
    }

    @Test
    void aStateOfAnotherKindIsRefused() {
        DeviceHandover handover = new DeviceHandover(VirtioBlock.TYPE, "block", List.of(new QueuePosition(0, 0)),
                List.of(), new ConsoleState(new byte[0], 0, 0));
        HandoverException e = assertThrows(HandoverException.class, () -> new VirtioBlock().adopt(handover, new RecordingDeviceHost()));
        assertTrue(e.getMessage().startsWith("block: cannot take over"), e.getMessage());
    }

    private static List<String> fields(List<ConfigField> config) {
        return config.stream().map(f -> f.type() + ":" + Arrays.toString(f.data())).toList();
    }
}
