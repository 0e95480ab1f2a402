package dev.lguest.itests;

import org.junit.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * NetTapIT's way to its own TAP interface: the names in the fdinfo of this process's
 * /dev/net/tun descriptors, and nothing else (not another descriptor's, not a tun
 * descriptor not yet attached, not one closed while the list is read), here on a
 * /proc directory laid out as Linux lays it out.
 */
public class TapInterfacesTest {
    @Test
    public void theInterfacesAreThoseOfTheTunDescriptorsFdinfo() throws Exception {
        Path proc = Files.createTempDirectory("proc");
        try {
            Files.createDirectories(proc.resolve("fd"));
            Files.createDirectories(proc.resolve("fdinfo"));
            descriptor(proc, 3, "/dev/net/tun", "pos:\t0\nflags:\t02100002\nmnt_id:\t24\nino:\t104\niff:\ttap7\n");
            descriptor(proc, 4, "/dev/null", "pos:\t0\nflags:\t02\niff:\tnot-a-tap\n");
            // Opened, TUNSETIFF not yet done: no interface.
            descriptor(proc, 5, "/dev/net/tun", "pos:\t0\nflags:\t02100002\n");
            descriptor(proc, 6, "/dev/net/tun", "pos:\t0\niff:\ttap12\n");
            // Closed between the listing and the read: its fdinfo is gone.
            Files.createSymbolicLink(proc.resolve("fd").resolve("7"), Path.of("/dev/net/tun"));

            assertEquals(Set.of("tap7", "tap12"), TapInterfaces.heldBy(proc));
        } finally {
            try (Stream<Path> all = Files.walk(proc)) {
                all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    public void aProcessWithoutTapsHoldsNone() {
        // The test JVM opens no /dev/net/tun of its own.
        assertTrue(TapInterfaces.ofThisProcess().isEmpty());
    }

    private static void descriptor(Path proc, int fd, String target, String fdinfo) throws Exception {
        Files.createSymbolicLink(proc.resolve("fd").resolve(Integer.toString(fd)), Path.of(target));
        Files.writeString(proc.resolve("fdinfo").resolve(Integer.toString(fd)), fdinfo);
    }
}
