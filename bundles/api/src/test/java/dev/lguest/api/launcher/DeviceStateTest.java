// A state no device will take lets go of what it holds: a parked disk's file is closed
// when its guest ends (the Launcher calls release), so the file is not held open until
// the JVM ends.
package dev.lguest.api.launcher;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeviceStateTest {
    @Test
    void aReleasedBlockStateClosesItsDisk(@TempDir Path dir) throws Exception {
        Path disk = Files.write(dir.resolve("disk.img"), new byte[4096]);
        FileChannel file = FileChannel.open(disk, StandardOpenOption.READ, StandardOpenOption.WRITE);
        BlockState state = new BlockState(disk, file, 8, 0, 1);
        assertTrue(file.isOpen());
        state.release();
        assertFalse(file.isOpen());
    }
}
