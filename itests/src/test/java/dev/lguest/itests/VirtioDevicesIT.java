package dev.lguest.itests;

import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
import dev.lguest.api.launcher.GuestSession;
import dev.lguest.api.launcher.LauncherDevice;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;

import javax.inject.Inject;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

/**
 * The virtio devices end to end: the default build plus the virtio console and block
 * bundles boots guest/virtio-probe with a disk in a temporary file. The probe writes a
 * line through the virtio console, writes sector 0 with a barrier and reads it back,
 * prints sector 1 (which we wrote before booting it), is refused a sector past the
 * end, flushes and powers off; afterwards the file holds what it wrote.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class VirtioDevicesIT {
    private static final int SECTOR = 512;
    private static final String HOST_LINE = "the host wrote this before boot";

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }


    @Test
    public void probeUsesTheConsoleAndTheDisk() throws Exception {
        awaitDevices(2);
        Path disk = Files.createTempFile("virtio-probe", ".img");
        try {
            byte[] image = new byte[16 * SECTOR];
            byte[] hostLine = (HOST_LINE + "\n").getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(hostLine, 0, image, SECTOR, hostLine.length);
            Files.write(disk, image);

            ByteArrayOutputStream console = new ByteArrayOutputStream();
            GuestSession session = launcher.boot(new BootSpec(16, null, Guests.image("virtio-probe.elf"), null, disk,
                    List.of(), false), console);
            GuestOutcome outcome = session.await(Duration.ofSeconds(60)).orElseThrow(() -> new AssertionError(
                    "the probe did not finish; it printed: " + console.toString(StandardCharsets.ISO_8859_1)));
            String output = console.toString(StandardCharsets.ISO_8859_1);

            assertTrue(outcome.reason() + "; it printed: " + output, outcome.poweredOff());
            assertEquals("virtio-probe: hello through the virtio console\n"
                    + "virtio-probe: sector 0 reads back as written\n"
                    + "virtio-probe: the host wrote: " + HOST_LINE + "\n"
                    + "virtio-probe: done\n", output);

            byte[] after = Files.readAllBytes(disk);
            assertEquals("the disk keeps its size", image.length, after.length);
            assertArrayEquals("sector 0 holds what the probe wrote", probeSector(),
                    Arrays.copyOf(after, SECTOR));
            assertArrayEquals("the rest is as we left it", Arrays.copyOfRange(image, SECTOR, image.length),
                    Arrays.copyOfRange(after, SECTOR, after.length));
        } finally {
            Files.deleteIfExists(disk);
        }
    }

    /** What guest/virtio-probe/main.c writes to sector 0: its line, then i & 0xff. */
    private static byte[] probeSector() {
        byte[] line = "written by the virtio probe\n".getBytes(StandardCharsets.US_ASCII);
        byte[] sector = new byte[SECTOR];
        for (int i = 0; i < SECTOR; i++) {
            sector[i] = i < line.length ? line[i] : (byte) i;
        }
        return sector;
    }

    /** Declarative Services may still be activating the device components. */
    private void awaitDevices(int count) throws InterruptedException, InvalidSyntaxException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            var refs = context.getServiceReferences(LauncherDevice.class, null);
            if (refs.size() >= count) {
                return;
            }
            Thread.sleep(50);
        }
        assertNotNull("the virtio device services did not appear", null);
    }
}
