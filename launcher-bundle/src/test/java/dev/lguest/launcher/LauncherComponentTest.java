package dev.lguest.launcher;

import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.BootSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Bad input to the Launcher: each is one line, found before any guest exists. */
class LauncherComponentTest {
    @TempDir
    Path dir;
    private final LauncherComponent launcher = new LauncherComponent();
    private final byte[] kernel = ElfKernelTest.elf(3, 0x100000, new byte[] {(byte) 0xf4}, 1);

    private String refusal(BootSpec spec) {
        return assertThrows(BootException.class, () -> launcher.boot(spec, new ByteArrayOutputStream())).getMessage();
    }

    @Test
    void anInitrdThatDoesNotFit() throws Exception {
        Path initrd = dir.resolve("initrd");
        Files.write(initrd, new byte[2 << 20]);
        assertEquals("the initrd " + initrd + " (2097152 bytes) does not fit in 2 MB of guest memory",
                refusal(new BootSpec(2, null, kernel, initrd, null, List.of(), false)));
    }

    @Test
    void aBlockDeviceThisBuildDoesNotHave() {
        assertEquals("--block: this build has no virtio block device",
                refusal(new BootSpec(4, null, kernel, null, dir.resolve("disk"), List.of(), false)));
    }

    @Test
    void aKernelThatIsNeitherFormat() throws Exception {
        Path notAKernel = dir.resolve("notes.txt");
        Files.writeString(notAKernel, "not a kernel");
        assertEquals(notAKernel + " is neither an i386 ELF vmlinux nor a bzImage",
                refusal(new BootSpec(4, notAKernel, null, null, null, List.of(), false)));
    }

    @Test
    void memoryOutOfRange() {
        assertEquals("guest memory must be between 1 and 2048 MB, not 4096",
                refusal(new BootSpec(4096, null, kernel, null, null, List.of(), false)));
    }
}
