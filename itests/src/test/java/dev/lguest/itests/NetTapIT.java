package dev.lguest.itests;

import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.exam.GuestRun;
import org.junit.Assume;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

import javax.inject.Inject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * lguest's own network: a Linux guest booted with --tunnet (here "tap:10.199.77.1/24")
 * gets a host TAP interface, made by the TAP backend through the JDK's foreign function
 * API. So that no traffic touches the host's own network, the test moves that interface
 * into a network namespace it creates, gives it the address there, and talks to the
 * guest only from inside it: the host pings the guest and fetches 1 MB from the guest's
 * busybox httpd, and the checksum matches the guest's. Needs root (CAP_NET_ADMIN, `ip
 * netns`) and /dev/net/tun; skipped with one line without them.
 *
 * The interface is the one this process holds ({@link TapInterfaces}), not whichever
 * holds the address: the host's namespace is the whole machine's, and another run at
 * the same moment has an interface with the same address.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class NetTapIT {
    private static final Duration BOOT = Duration.ofSeconds(180);
    private static final String HOST = "10.199.77.1";
    private static final String GUEST = "10.199.77.2";
    /** What the guest serves: 1 MB, or lguest.net.kb (benchmarks/net-benchmark serves more). */
    private static final int KILOBYTES = Integer.getInteger("lguest.net.kb", 1024);

    @Inject
    private GuestLauncher launcher;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    @Test
    public void theHostPingsAGuestOnATapAndFetchesAFileFromItsHttpd() throws Exception {
        NetGuests.kernelOrSkip();
        String namespace = "lguest-nettest-" + ProcessHandle.current().pid();
        if (!Files.exists(Path.of("/dev/net/tun")) || run(List.of("ip", "netns", "add", namespace)) != 0) {
            System.err.println("skipped: NetTapIT needs root and /dev/net/tun (ip netns add failed)");
            Assume.assumeTrue("no privileges for TAP and namespaces", false);
        }
        Path fetched = Files.createTempFile("nettap", ".data");
        Set<String> tapsBefore = TapInterfaces.ofThisProcess();
        try (GuestRun guest = bootOrSkip()) {
            String tap = tapOfThisProcess(tapsBefore, guest);
            exec(List.of("ip", "link", "set", tap, "netns", namespace));
            exec(List.of("ip", "-n", namespace, "addr", "add", HOST + "/24", "dev", tap));
            exec(List.of("ip", "-n", namespace, "link", "set", tap, "up"));
            String serving = guest.awaitLine("NET-SERVING", BOOT);

            String ping = output(inNamespace(namespace, "ping", "-c", "3", "-w", "60", GUEST));
            System.out.println("NetTapIT figure: host to guest ping: " + ping.lines()
                    .filter(l -> l.contains("rtt") || l.contains("round-trip")).findFirst().orElse(ping));
            assertTrue(ping, ping.contains("3 received"));

            long start = System.nanoTime();
            exec(inNamespace(namespace, "curl", "-s", "-f", "-m", "120", "-o", fetched.toString(),
                    "http://" + GUEST + "/data"));
            double seconds = (System.nanoTime() - start) / 1e9;
            byte[] data = Files.readAllBytes(fetched);
            System.out.printf("NetTapIT figure: guest to host TCP (httpd, curl): %d KiB in %.2f s (%.0f KiB/s)%n",
                    data.length / 1024, seconds, data.length / 1024 / seconds);
            assertEquals(NetGuests.word(serving, 1), String.valueOf(data.length));
            assertEquals(NetGuests.word(serving, 2),
                    HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data)));

            guest.type("done\n");
            assertTrue(guest.exitReason(BOOT), guest.session().await(BOOT).orElseThrow().poweredOff());
        } finally {
            Files.deleteIfExists(fetched);
            run(List.of("ip", "netns", "del", namespace));
        }
    }

    private static List<String> inNamespace(String namespace, String... command) {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        all.addAll(List.of(command));
        return all;
    }

    /** The guest on a new TAP interface; skipped with one line where this process may not make one. */
    private GuestRun bootOrSkip() throws Exception {
        try {
            return NetGuests.boot(launcher, NetGuests.initrd(), 64, "tap:" + HOST + "/24", "netip=" + GUEST,
                    "netrole=httpd", "netkb=" + KILOBYTES);
        } catch (BootException e) {
            if (e.getMessage().contains("not permitted") || e.getMessage().contains("permission denied")) {
                System.err.println("skipped: NetTapIT needs CAP_NET_ADMIN for a TAP interface: " + e.getMessage());
                Assume.assumeTrue(e.getMessage(), false);
            }
            throw e;
        }
    }

    /**
     * The TAP interface the guest's Launcher made: the one this process holds now and
     * did not before the boot (the Launcher runs in this JVM; the TAP backend makes the
     * interface before the boot returns).
     */
    private static String tapOfThisProcess(Set<String> before, GuestRun guest) {
        Set<String> made = new TreeSet<>(TapInterfaces.ofThisProcess());
        made.removeAll(before);
        if (made.size() != 1) {
            throw new AssertionError("this process holds " + made + " new TAP interfaces, not one; the guest printed:\n"
                    + guest.output());
        }
        return made.iterator().next();
    }

    private static int run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(60, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }

    private static void exec(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(180, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed: " + out);
        }
    }

    private static String output(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(180, TimeUnit.SECONDS);
        return out;
    }
}
