/*
 * Coverage-guided fuzzing of the virtio disk's request parsing: chains of any shape
 * (headers short or long, any type, barrier bit and sector, data and status buffers of
 * any length anywhere in guest memory, overlapping as a guest may make them) against a
 * small disk file. What must hold: each request is served with a status or ends the
 * guest with a VirtqueueFault (the Launcher's errx), never another exception; the
 * device writes guest memory only inside the request's writable buffers and nothing
 * beside the guest's memory; the used length never exceeds what the chain offers to
 * be written; and the disk file keeps its size.
 *
 * ./fuzz BlockFuzzTest#requests 10m explores; ./mvnw verify replays the inputs under
 * src/test/resources/dev/lguest/virtio/block/BlockFuzzTestInputs/.
 */
package dev.lguest.virtio.block;

import dev.lguest.testing.devices.TestQueue;
import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.DescriptorChain;
import dev.lguest.api.launcher.DescriptorChain.Buffer;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.VirtqueueFault;
import dev.lguest.testing.devices.FuzzedGuestMemory;
import dev.lguest.testing.devices.RecordingDeviceHost;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BlockFuzzTest {
    private static final int SECTORS = 8;
    private static final int MEMORY = 64 << 10;
    private static final int[] TYPES = {BlockDevice.T_IN, BlockDevice.T_OUT, BlockDevice.T_SCSI_CMD,
            BlockDevice.T_FLUSH, BlockDevice.T_IN | BlockDevice.T_BARRIER, BlockDevice.T_OUT | BlockDevice.T_BARRIER};
    private static final Path DISK = tempDisk();

    private static Path tempDisk() {
        try {
            Path dir = Files.createTempDirectory("block-fuzz");
            dir.toFile().deleteOnExit();
            Path disk = dir.resolve("disk.img");
            disk.toFile().deleteOnExit();
            return disk;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest
    void requests(FuzzedDataProvider data) throws Exception {
        Files.write(DISK, new byte[SECTORS * 512]);
        TestQueue queue = new TestQueue();
        RecordingDeviceHost host = new RecordingDeviceHost();
        GuestDevice device = new VirtioBlock()
                .attach(new BootSpec(16, null, new byte[1], null, DISK, List.of(), false), host).orElseThrow();
        try (FuzzedGuestMemory guest = new FuzzedGuestMemory(MEMORY)) {
            device.connect(List.of(queue));
            guest.fill(data);
            int requests = data.consumeInt(1, 8);
            for (int i = 0; i < requests && data.remainingBytes() > 0; i++) {
                // Most requests start with a header buffer holding a plausible header.
                List<Buffer> header = List.of();
                if (data.consumeBoolean()) {
                    Buffer h = guest.buffer(data);
                    byte[] bytes = new byte[(int) Math.min(h.length(), 24)];
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(new byte[24]).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                    b.putInt(data.consumeBoolean() ? TYPES[data.consumeInt(0, TYPES.length - 1)] : data.consumeInt());
                    b.putInt(data.consumeInt());
                    b.putLong(data.consumeBoolean() ? data.consumeLong(0, SECTORS + 1) : data.consumeLong());
                    System.arraycopy(b.array(), 0, bytes, 0, bytes.length);
                    guest.memory.write(h.address(), bytes);
                    header = List.of(h);
                }
                DescriptorChain chain = guest.chain(data, i, header);
                long writable = chain.writable().stream().mapToLong(Buffer::length).sum();
                queue.available.add(chain);
                byte[] before = guest.snapshot();
                try {
                    device.notified(0);
                } catch (VirtqueueFault guestDies) {
                    guest.assertOnlyWritableChanged(before, List.of(chain));
                    break;
                }
                guest.assertOnlyWritableChanged(before, List.of(chain));
                assertEquals(i + 1, queue.usedLengths.size());
                int used = queue.usedLengths.get(i);
                assertTrue(used >= 1 && used <= writable, "used length " + used + " of " + writable + " writable");
            }
        } finally {
            device.close();
        }
        assertEquals(SECTORS * 512L, Files.size(DISK), "the disk file changed size");
    }
}
