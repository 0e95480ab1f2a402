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

import javax.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * Two real Linux 2.6.24 guests on the in-process switch (--net=switch:NAME), in one
 * framework: the client pings the server, then sends it 10 MB of varied bytes over TCP
 * with busybox nc; the server's checksum of what arrived must equal the client's of
 * what it sent. Both guests' virtio_net drivers, the virtio network device, its
 * receive and transmit paths and the switch carry every frame.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class NetSwitchIT {
    private static final Duration BOOT = Duration.ofSeconds(300);
    /**
     * Making, sending and checksumming 10 MB on an interpreted CPU: a minute on a quiet
     * machine, several on a loaded one (the timeouts only bound a hang).
     */
    private static final Duration TRANSFER = Duration.ofSeconds(900);
    /** What the client sends: 10 MB, or lguest.net.kb (benchmarks/net-benchmark's choice). */
    private static final int KILOBYTES = Integer.getInteger("lguest.net.kb", 10240);

    @Inject
    private GuestLauncher launcher;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    @Test
    public void twoGuestsPingEachOtherAndMoveTenMegabytesOverTcp() throws Exception {
        NetGuests.kernelOrSkip();
        Path initrd = NetGuests.initrd();
        try (GuestRun server = NetGuests.boot(launcher, initrd, 64, "switch:nettest", "netip=10.0.0.2",
                "netrole=server");
             GuestRun client = NetGuests.boot(launcher, initrd, 64, "switch:nettest", "netip=10.0.0.1",
                     "netrole=client", "netpeer=10.0.0.2", "netkb=" + KILOBYTES)) {
            server.awaitLine("NET-UP", BOOT);
            client.awaitLine("NET-UP", BOOT);
            String ping = client.awaitLine("NET-PING", BOOT);
            assertTrue(ping, ping.contains("5 packets transmitted, 5 packets received"));
            String sending = client.awaitLine("NET-SENDING", TRANSFER);
            long start = System.nanoTime();
            String received = server.awaitLine("NET-RECEIVED", TRANSFER);
            double seconds = (System.nanoTime() - start) / 1e9;
            String sent = client.awaitLine("NET-SENT", TRANSFER);
            // NET-SENT in <uptime> <idle> .. <uptime> <idle>: the guest's own clock.
            double guestSeconds = Double.parseDouble(NetGuests.word(sent, 5)) - Double.parseDouble(NetGuests.word(sent, 2));
            System.out.printf("NetSwitchIT figure: guest to guest ping: %s%n", ping.substring(ping.indexOf('/') + 1).trim());
            System.out.printf("NetSwitchIT figure: guest to guest TCP (nc): %d KiB in %.2f s by the sender's clock"
                    + " (%.0f KiB/s); %.2f s by the host's from then until the receiver printed its checksum%n",
                    KILOBYTES, guestSeconds, KILOBYTES / guestSeconds, seconds);
            assertEquals(String.valueOf(KILOBYTES * 1024), NetGuests.word(sending, 1));
            assertEquals("bytes received: " + received, NetGuests.word(sending, 1), NetGuests.word(received, 1));
            assertEquals("checksum: " + received, NetGuests.word(sending, 2), NetGuests.word(received, 2));
            assertTrue(server.exitReason(BOOT), server.session().await(BOOT).orElseThrow().poweredOff());
            assertTrue(client.exitReason(BOOT), client.session().await(BOOT).orElseThrow().poweredOff());
        }
    }
}
