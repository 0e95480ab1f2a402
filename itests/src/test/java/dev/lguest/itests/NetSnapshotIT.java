package dev.lguest.itests;

import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.snapshot.SnapshotException;
import dev.lguest.api.snapshot.Snapshots;
import dev.lguest.exam.GuestRun;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

import javax.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/**
 * A Linux guest with a network card, saved and restored: two 2.6.24 guests on the
 * in-process switch; one pings the other, is saved and stopped, comes back from the
 * file on the switch its restore names (the link is not in the file), and pings the
 * other again. A restore that names no network for the card,
 * in this framework or as `lguest --restore=FILE` in a new process, is refused in one
 * line that says what the card was on.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class NetSnapshotIT {
    private static final Duration BOOT = Duration.ofSeconds(300);
    private static final String SWITCH = "switch:netsnap";

    @Inject
    private GuestLauncher launcher;

    @Inject
    private Snapshots snapshots;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    @Test
    public void aGuestSavedOnTheSwitchComesBackOnItAndPingsAgain() throws Exception {
        NetGuests.kernelOrSkip();
        Path initrd = NetGuests.initrd();
        Path file = Files.createTempFile("netguest", ".snap");
        try (GuestRun peer = NetGuests.boot(launcher, initrd, 64, SWITCH, "netip=10.0.3.2", "netrole=httpd",
                "netkb=1")) {
            try (GuestRun pinger = NetGuests.boot(launcher, initrd, 64, SWITCH, "netip=10.0.3.1",
                    "netrole=pinger", "netpeer=10.0.3.2")) {
                String ping = pinger.awaitLine("NET-PING", BOOT);
                assertTrue(ping, ping.contains("3 packets transmitted, 3 packets received"));
                pinger.saveAndStop(file);
                assertEquals("saved to " + file, pinger.exitReason(BOOT));
            }

            SnapshotException refused = assertThrows(SnapshotException.class,
                    () -> GuestRun.restore(snapshots, file).close());
            assertEquals("the guest has a network card (on switch netsnap when saved): name the network it joins"
                    + " now, e.g. --net=switch:NAME", refused.getMessage());
            LguestProcess.Result cli = LguestProcess.run("lguest", "--restore=" + file);
            assertEquals(cli.toString(), 1, cli.exitCode());
            assertEquals(cli.toString(), List.of("lguest: " + file + ": " + refused.getMessage()),
                    cli.err().lines().toList());

            try (GuestRun restored = GuestRun.restore(snapshots, file, null, List.of(SWITCH))) {
                restored.type("go\n");
                String again = restored.awaitLine("NET-PING-AGAIN", BOOT);
                assertTrue(again + "\n" + restored.output(), again.contains("3 packets transmitted, 3 packets received"));
                assertEquals("Power down", restored.exitReason(BOOT));
            }
            peer.type("done\n");
            assertEquals("Power down", peer.exitReason(BOOT));
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
