package dev.lguest.itests;

import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.exam.GuestRun;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;

import javax.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * The virtio network bundle swapped under two guests in the middle of a TCP transfer:
 * the client sends half its data over the in-process switch and waits; the test
 * replaces the network device bundle three times (each time both guests' cards pass,
 * with their links and waiting frames, to the other copy), then lets the client send
 * the rest on the same connection. The server's checksum of all it received must be
 * the client's: the connection survived the swaps and nothing was lost or doubled.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class NetSwapIT {
    private static final Duration BOOT = Duration.ofSeconds(180);
    private static final Duration TRANSFER = Duration.ofSeconds(300);
    private static final int KILOBYTES = 1024;
    private static final int SWAPS = 3;

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    @Test
    public void aTcpConnectionSurvivesTheNetworkDeviceBeingSwappedUnderIt() throws Exception {
        NetGuests.kernelOrSkip();
        Path initrd = NetGuests.initrd();
        // Installed now, started only for the swap: a second network device service at
        // boot would give each guest two cards.
        try (SwapKit.Alternation alternation = new SwapKit.Alternation(context, "lguest-virtio-net");
             GuestRun server = NetGuests.boot(launcher, initrd, 64, "switch:netswap", "netip=10.0.1.2",
                     "netrole=server");
             GuestRun client = NetGuests.boot(launcher, initrd, 64, "switch:netswap", "netip=10.0.1.1",
                     "netrole=client", "netpeer=10.0.1.2", "netkb=" + KILOBYTES, "netpause=1")) {
            String sending = client.awaitLine("NET-SENDING", BOOT);
            client.awaitLine(line -> line.startsWith("NET-HALFWAY"), "NET-HALFWAY", TRANSFER);
            // Each swap stops the copy whose device serves both cards, so the rest of the
            // transfer can only arrive through the devices each hand-over made.
            for (int i = 0; i < SWAPS; i++) {
                alternation.swap();
            }
            client.type("go\n");
            String received = server.awaitLine("NET-RECEIVED", TRANSFER);
            assertEquals("bytes received: " + received, NetGuests.word(sending, 1), NetGuests.word(received, 1));
            assertEquals("checksum: " + received, NetGuests.word(sending, 2), NetGuests.word(received, 2));
            assertTrue(server.exitReason(BOOT), server.session().await(BOOT).orElseThrow().poweredOff());
            assertTrue(client.exitReason(BOOT), client.session().await(BOOT).orElseThrow().poweredOff());
        }
    }
}
