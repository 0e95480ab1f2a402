package dev.lguest.virtio.block;

import dev.lguest.api.memory.GuestMemory;
import dev.lguest.testing.devices.RecordingDeviceHost;
import dev.lguest.testing.devices.TestQueue;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The host failing a disk under a running guest, with real files: a file system that
 * is full (a 1 MiB tmpfs, mounted for the test where we may mount, skipped in one line
 * elsewhere), a disk file deleted, a disk file cut short by someone else. Each failed
 * request is the guest's VIRTIO_BLK_S_IOERR and the Launcher's device goes on serving;
 * nothing the guest did not write changes; no exception reaches the Launcher.
 */
class HostFailuresTest {
    private static final int SECTOR = 512;
    private static final long DATA = OneSectorRequests.DATA;

    @TempDir
    Path dir;
    private final GuestMemory memory = new GuestMemory(Arena.ofAuto().allocate(1 << 20));
    private final TestQueue queue = new TestQueue();
    private final RecordingDeviceHost host = new RecordingDeviceHost();
    private final OneSectorRequests requests = new OneSectorRequests(memory, queue);

    private static byte[] sectors(int count, int fill) {
        byte[] b = new byte[count * SECTOR];
        Arrays.fill(b, (byte) fill);
        return b;
    }

    private static int run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor();
    }

    @Test
    void aWriteIntoAFullFileSystemIsTheGuestsIoErrorAndTheDiskGoesOn() throws Exception {
        Path mount = Files.createDirectory(dir.resolve("small"));
        Assumptions.assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount.toString()) == 0,
                "cannot mount a 1 MiB tmpfs here (not root?): skipping the full-disk test");
        try {
            // A 2 MiB disk whose first page holds data and whose rest is a hole, on a
            // file system then filled to the last page by another file.
            Path disk = mount.resolve("disk.img");
            Files.write(disk, sectors(8, 0x3c));
            try (RandomAccessFile grown = new RandomAccessFile(disk.toFile(), "rw")) {
                grown.setLength(2 << 20);
            }
            try (OutputStream filler = Files.newOutputStream(mount.resolve("filler"))) {
                byte[] page = new byte[4096];
                for (;;) {
                    filler.write(page);
                    filler.flush();
                }
            } catch (IOException full) {
                assertTrue(String.valueOf(full.getMessage()).contains("No space left on device"), full.toString());
            }

            BlockDevice device = VirtioBlock.open(disk, host, FileChannel::open);
            device.connect(List.of(queue));
            memory.fill(DATA, SECTOR, (byte) 0x77);
            assertEquals(BlockDevice.S_OK, requests.send(device, BlockDevice.T_OUT, 1, true),
                    "a write into a page the disk already has needs no space");
            assertEquals(BlockDevice.S_IOERR, requests.send(device, BlockDevice.T_OUT, 2048, true),
                    "a write into the hole needs a page the file system does not have");
            assertEquals(BlockDevice.S_IOERR, requests.send(device, BlockDevice.T_OUT | BlockDevice.T_BARRIER,
                    3000, true));
            assertEquals(List.of("request type 0x1 at sector 2048 failed on the host: No space left on device",
                    "disk " + disk + ": No space left on device; the guest gets an I/O error for each request "
                            + "the host fails",
                    "request type 0x80000001 at sector 3000 failed on the host: No space left on device"),
                    host.verboseLines.stream().filter(l -> !l.startsWith("WRITE to") && !l.startsWith("READ from"))
                            .toList(), "one warning for the user, a --verbose line for each failure");
            // The guest goes on: it reads what is there, and a flush has nothing to fail on.
            memory.fill(DATA, SECTOR, (byte) 0x11);
            assertEquals(BlockDevice.S_OK, requests.send(device, BlockDevice.T_IN, 2048, false));
            assertArrayEquals(new byte[SECTOR], memory.read(DATA, SECTOR));
            assertEquals(BlockDevice.S_OK, requests.send(device, BlockDevice.T_IN, 0, false));
            assertArrayEquals(sectors(1, 0x3c), memory.read(DATA, SECTOR));
            assertEquals(BlockDevice.S_OK, requests.flush(device));
            device.close();

            byte[] expected = new byte[2 << 20];
            System.arraycopy(sectors(8, 0x3c), 0, expected, 0, 8 * SECTOR);
            Arrays.fill(expected, SECTOR, 2 * SECTOR, (byte) 0x77);
            assertArrayEquals(expected, Files.readAllBytes(disk), "the image holds exactly what the guest wrote");
        } finally {
            run("umount", mount.toString());
        }
    }

    @Test
    void aDiskDeletedWhileTheGuestRunsIsStillTheGuestsDisk() throws Exception {
        // The Launcher holds the file open: the name goes, the disk does not (and the
        // host frees it when the guest ends), as with lguest.c's open descriptor.
        Path disk = dir.resolve("disk.img");
        BlockDevice device = fourSectorDisk(disk);
        Files.delete(disk);

        memory.fill(DATA, SECTOR, (byte) 0x5a);
        assertEquals(BlockDevice.S_OK, requests.send(device, BlockDevice.T_OUT, 3, true));
        assertEquals(BlockDevice.S_OK, requests.flush(device));
        memory.fill(DATA, SECTOR, (byte) 0);
        assertEquals(BlockDevice.S_OK, requests.send(device, BlockDevice.T_IN, 3, false));
        assertArrayEquals(sectors(1, 0x5a), memory.read(DATA, SECTOR));
        assertEquals(BlockDevice.S_OK, requests.send(device, BlockDevice.T_IN, 0, false));
        assertArrayEquals(sectors(1, 0x3c), memory.read(DATA, SECTOR));
        assertTrue(host.verboseLines.stream().noneMatch(l -> l.startsWith("disk ")), host.verboseLines.toString());
        device.close();
    }

    @Test
    void aDiskCutShortUnderTheGuestGivesIoErrorsForWhatIsGone() throws Exception {
        Path disk = dir.resolve("disk.img");
        BlockDevice device = fourSectorDisk(disk);
        try (FileChannel f = FileChannel.open(disk, StandardOpenOption.WRITE)) {
            f.truncate(SECTOR);
        }
        assertEquals(BlockDevice.S_IOERR, requests.send(device, BlockDevice.T_IN, 3, false));
        assertEquals(BlockDevice.S_OK, requests.send(device, BlockDevice.T_IN, 0, false));
        assertArrayEquals(sectors(1, 0x3c), memory.read(DATA, SECTOR));
        device.close();
    }

    /** A disk of four sectors of 0x3c, opened as the Launcher opens one, its queue connected. */
    private BlockDevice fourSectorDisk(Path disk) throws Exception {
        Files.write(disk, sectors(4, 0x3c));
        BlockDevice device = VirtioBlock.open(disk, host, FileChannel::open);
        device.connect(List.of(queue));
        return device;
    }
}
