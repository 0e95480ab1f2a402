package dev.lguest.virtio.block;

import dev.lguest.testing.devices.TestQueue;
import dev.lguest.testing.devices.RecordingDeviceHost;
import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.ConfigField;
import dev.lguest.api.launcher.DescriptorChain;
import dev.lguest.api.launcher.DescriptorChain.Buffer;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.VirtqueueFault;
import dev.lguest.api.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The virtio disk against requests laid out in guest memory as 2.6.24's virtio_blk.c
 * lays them out: header, data, status byte.
 */
class BlockDeviceTest {
    private static final int SECTORS = 8;
    private static final long HEADER = 0x1000, DATA = 0x2000, STATUS = 0x3000;

    @TempDir
    Path dir;
    private Path disk;
    private final GuestMemory memory = new GuestMemory(Arena.ofAuto().allocate(1 << 20));
    private final TestQueue queue = new TestQueue();
    private final RecordingDeviceHost host = new RecordingDeviceHost();
    private GuestDevice device;

    @BeforeEach
    void openDisk() throws Exception {
        disk = dir.resolve("disk.img");
        byte[] image = new byte[SECTORS * 512];
        for (int i = 0; i < image.length; i++) {
            image[i] = (byte) (i / 512 + 0x40);
        }
        Files.write(disk, image);
        device = new VirtioBlock().attach(spec(disk), host).orElseThrow();
        device.connect(List.of(queue));
    }

    @AfterEach
    void closeDisk() {
        device.close();
    }

    private static BootSpec spec(Path block) {
        return new BootSpec(16, null, new byte[1], null, block, List.of(), false);
    }

    private void header(int type, long sector) {
        memory.write32(HEADER, type);
        memory.write32(HEADER + 4, 0);
        memory.write64(HEADER + 8, sector);
        memory.write64(HEADER + 16, 0);
        memory.write8(STATUS, 0xee);
    }

    /** Submits one chain and returns its status byte. */
    private int submit(List<Buffer> readable, List<Buffer> writable) {
        queue.available.add(new DescriptorChain(memory, 0, readable, writable));
        device.notified(0);
        return memory.read8(STATUS);
    }

    private int write(long sector, int type, int length) {
        header(type, sector);
        return submit(List.of(new Buffer(HEADER, 24), new Buffer(DATA, length)), List.of(new Buffer(STATUS, 1)));
    }

    private int read(long sector, int length) {
        header(BlockDevice.T_IN, sector);
        return submit(List.of(new Buffer(HEADER, 24)), List.of(new Buffer(DATA, length), new Buffer(STATUS, 1)));
    }

    @Test
    void configSaysCapacitySegmentsAndBarriers() {
        List<ConfigField> fields = device.configFields();
        assertEquals(0x40, fields.get(0).type());
        assertEquals(32, fields.get(0).data().length);
        assertEquals(2, fields.get(0).data()[0]);
        assertEquals(0x41, fields.get(1).type());
        assertArrayEquals(new byte[] {8, 0, 0, 0, 0, 0, 0, 0}, fields.get(1).data());
        assertEquals(0x43, fields.get(2).type());
        assertArrayEquals(new byte[] {126, 0, 0, 0}, fields.get(2).data());
        assertEquals("virtblock 8 sectors", device.describe());
    }

    @Test
    void readsASector() {
        assertEquals(BlockDevice.S_OK, read(3, 512));
        assertEquals(0x43, memory.read8(DATA));
        assertEquals(0x43, memory.read8(DATA + 511));
        assertEquals(List.of(513), queue.usedLengths);
        assertEquals(1, queue.interrupts);
        assertEquals(List.of("READ from sector 3: 512"), host.verboseLines);
    }

    @Test
    void aWriteTheGuestSawCompleteIsOnDiskAfterAFlush() throws IOException {
        memory.fill(DATA, 1024, (byte) 0x5a);
        assertEquals(BlockDevice.S_OK, write(2, BlockDevice.T_OUT, 1024));
        assertEquals(List.of(1), queue.usedLengths);
        header(BlockDevice.T_FLUSH, 0);
        assertEquals(BlockDevice.S_OK, submit(List.of(new Buffer(HEADER, 24)), List.of(new Buffer(STATUS, 1))));
        // No close, no further call: what is in the file now is what survives.
        byte[] after = Files.readAllBytes(disk);
        assertEquals(SECTORS * 512, after.length);
        byte[] expected = new byte[1024];
        Arrays.fill(expected, (byte) 0x5a);
        assertArrayEquals(expected, Arrays.copyOfRange(after, 1024, 2048));
        assertEquals(0x41, after[1023]);
        assertEquals(0x44, after[2048]);
    }

    @Test
    void aBarrierWriteIsDurableToo() throws IOException {
        memory.fill(DATA, 512, (byte) 0x77);
        assertEquals(BlockDevice.S_OK, write(7, BlockDevice.T_OUT | BlockDevice.T_BARRIER, 512));
        assertEquals(0x77, Files.readAllBytes(disk)[7 * 512]);
    }

    @Test
    void readsBackWhatItWrote() {
        memory.fill(DATA, 512, (byte) 0x11);
        assertEquals(BlockDevice.S_OK, write(0, BlockDevice.T_OUT, 512));
        memory.fill(DATA, 512, (byte) 0);
        assertEquals(BlockDevice.S_OK, read(0, 512));
        assertEquals(0x11, memory.read8(DATA + 100));
    }

    @Test
    void outOfRangeIsAnIoErrorAndTheFileNeverGrows() throws IOException {
        assertEquals(BlockDevice.S_IOERR, read(SECTORS, 512));
        assertEquals(BlockDevice.S_IOERR, read(SECTORS - 1, 1024));
        assertEquals(BlockDevice.S_IOERR, write(SECTORS - 1, BlockDevice.T_OUT, 513));
        assertEquals(BlockDevice.S_IOERR, write(-1L, BlockDevice.T_OUT, 512));
        // A sector whose byte offset overflows 64 bits.
        assertEquals(BlockDevice.S_IOERR, read(1L << 55, 512));
        assertEquals(SECTORS * 512, Files.size(disk));
        // The failed requests are still answered, with just the status.
        assertTrue(queue.usedLengths.stream().allMatch(n -> n == 1));
    }

    @Test
    void unsupportedRequests() {
        header(BlockDevice.T_SCSI_CMD, 0);
        assertEquals(BlockDevice.S_UNSUPP, submit(List.of(new Buffer(HEADER, 24)), List.of(new Buffer(STATUS, 1))));
        header(8, 0); // VIRTIO_BLK_T_GET_ID, from later kernels
        assertEquals(BlockDevice.S_UNSUPP, submit(List.of(new Buffer(HEADER, 24)), List.of(new Buffer(STATUS, 1))));
    }

    @Test
    void malformedRequestsGetAnError() {
        // The header in a buffer the device may only write: not a request it can read.
        header(BlockDevice.T_IN, 0);
        assertEquals(BlockDevice.S_IOERR, submit(List.of(), List.of(new Buffer(HEADER, 24), new Buffer(STATUS, 1))));
        // A header too short to hold the sector.
        header(BlockDevice.T_IN, 0);
        assertEquals(BlockDevice.S_IOERR, submit(List.of(new Buffer(HEADER, 8)), List.of(new Buffer(STATUS, 1))));
    }

    @Test
    void aRequestWithNowhereForItsStatusKillsTheGuest() {
        header(BlockDevice.T_IN, 0);
        queue.available.add(new DescriptorChain(memory, 4, List.of(new Buffer(HEADER, 24)), List.of()));
        assertEquals("block: request 4 has no writable byte for its status",
                assertThrows(VirtqueueFault.class, () -> device.notified(0)).getMessage());
    }

    @Test
    void noBlockOptionNoDevice() throws BootException {
        assertTrue(new VirtioBlock().attach(spec(null), host).isEmpty());
    }

    @Test
    void aMissingDiskIsOneLine() {
        Path missing = dir.resolve("nope.img");
        assertEquals("cannot open disk " + missing + ": no such file",
                assertThrows(BootException.class, () -> new VirtioBlock().attach(spec(missing), host)).getMessage());
    }
}
