package dev.lguest.virtio.block;

import dev.lguest.testing.devices.TestQueue;
import dev.lguest.api.launcher.BlockState;
import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.DeviceHandover;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.QueuePosition;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.testing.devices.RecordingDeviceHost;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A disk file the host lets us read but not write (permissions, an immutable file, a
 * read-only file system): the guest boots with it, reads it, and each write fails
 * with VIRTIO_BLK_S_IOERR; the file is untouched and nothing escapes to the host.
 * The host's refusal is played by an opener that refuses WRITE as Linux does (the
 * tests may run as root, whom chmod 444 does not stop).
 */
class ReadOnlyDiskTest {
    private static final int SECTORS = 4;
    private static final long DATA = OneSectorRequests.DATA;

    @TempDir
    Path dir;
    private final GuestMemory memory = new GuestMemory(Arena.ofAuto().allocate(1 << 20));
    private final TestQueue queue = new TestQueue();
    private final RecordingDeviceHost host = new RecordingDeviceHost();
    private final OneSectorRequests requests = new OneSectorRequests(memory, queue);

    /** Opens as the host would if writing were refused with {@code refusal}. */
    private static VirtioBlock.Opener refusingWrites(IOException refusal) {
        return (path, options) -> {
            if (Arrays.asList(options).contains(StandardOpenOption.WRITE)) {
                throw refusal;
            }
            return FileChannel.open(path, options);
        };
    }

    private Path disk() throws IOException {
        Path disk = dir.resolve("ro.img");
        byte[] image = new byte[SECTORS * 512];
        Arrays.fill(image, (byte) 0x3c);
        Files.write(disk, image);
        return disk;
    }

    private int request(GuestDevice device, int type, long sector, boolean write) {
        return requests.send(device, type, sector, write);
    }

    @Test
    void readsWorkWritesFailAndTheFileIsUntouched() throws Exception {
        Path disk = disk();
        BlockDevice device = VirtioBlock.open(disk, host, refusingWrites(new AccessDeniedException(disk.toString())));
        device.connect(List.of(queue));
        assertTrue(device.readOnly());
        assertEquals("virtblock 4 sectors, read-only", device.describe());
        assertEquals(List.of("disk " + disk + " can only be read: the guest's writes to it will fail"),
                host.verboseLines, "the user is told once (RecordingDeviceHost records warnings with verbose lines)");

        assertEquals(BlockDevice.S_OK, request(device, BlockDevice.T_IN, 1, false));
        assertEquals(0x3c, memory.read8(DATA + 7));
        memory.fill(DATA, 512, (byte) 0x99);
        assertEquals(BlockDevice.S_IOERR, request(device, BlockDevice.T_OUT, 2, true));
        assertEquals(BlockDevice.S_IOERR, request(device, BlockDevice.T_OUT | BlockDevice.T_BARRIER, 0, true));
        // A flush has nothing to flush; it succeeds, as it would on a disk nobody wrote.
        assertEquals(BlockDevice.S_OK, requests.flush(device));
        device.close();

        byte[] expected = new byte[SECTORS * 512];
        Arrays.fill(expected, (byte) 0x3c);
        assertArrayEquals(expected, Files.readAllBytes(disk));
    }

    @Test
    void anImmutableFileOrAReadOnlyFileSystemIsAReadOnlyDisk() throws Exception {
        Path disk = disk();
        for (String reason : List.of("Operation not permitted", "Read-only file system")) {
            BlockDevice device = VirtioBlock.open(disk, host,
                    refusingWrites(new FileSystemException(disk.toString(), null, reason)));
            assertTrue(device.readOnly(), reason);
            device.close();
        }
    }

    @Test
    void aFileThatIsNotADiskIsStillRefused() throws Exception {
        Path disk = disk();
        BootException e = assertThrows(BootException.class, () -> VirtioBlock.open(disk, host,
                refusingWrites(new FileSystemException(disk.toString(), null, "Is a directory"))));
        assertEquals("cannot open disk " + disk + ": " + disk + ": Is a directory", e.getMessage());
    }

    @Test
    void aFileThatCannotEvenBeReadIsOneLine() throws Exception {
        Path disk = disk();
        VirtioBlock.Opener refusingAll = (path, options) -> {
            throw new AccessDeniedException(path.toString());
        };
        assertEquals("cannot open disk " + disk + ": permission denied",
                assertThrows(BootException.class, () -> VirtioBlock.open(disk, host, refusingAll)).getMessage());
    }

    @Test
    void aChannelThatCannotWriteGivesAnErrorNotAnException() throws Exception {
        // A read-only channel behind a device that believes it may write (a successor
        // given such a channel): the write is the guest's I/O error, not a host failure.
        Path disk = disk();
        FileChannel readOnly = FileChannel.open(disk, StandardOpenOption.READ);
        BlockDevice device = new BlockDevice(disk, readOnly, host, false);
        device.connect(List.of(queue));
        assertEquals(BlockDevice.S_IOERR, request(device, BlockDevice.T_OUT, 0, true));
        device.close();
    }

    @Test
    void theSuccessorOfAReadOnlyDiskKeepsItReadOnly() throws Exception {
        Path disk = disk();
        BlockDevice old = VirtioBlock.open(disk, host, refusingWrites(new AccessDeniedException(disk.toString())));
        BlockState state = (BlockState) old.suspend();
        assertTrue(state.readOnly());
        GuestDevice next = new VirtioBlock().adopt(new DeviceHandover(VirtioBlock.TYPE, "block",
                List.of(new QueuePosition(0, 0)), old.configFields(), state), host);
        old.retire();
        next.connect(List.of(queue));
        assertEquals(BlockDevice.S_IOERR, request(next, BlockDevice.T_OUT, 0, true));
        next.close();
    }

}
