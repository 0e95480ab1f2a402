package dev.lguest.itests;

import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.LauncherDevice;
import dev.lguest.api.snapshot.Migrations;
import dev.lguest.api.snapshot.SnapshotException;
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
import java.io.DataInputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * Live migration to a new process waiting with `lguest --incoming=0`: the test kernel,
 * run by another `lguest` process and moved through that one's --monitor in the
 * middle of its self-test, with no dirty set small enough for the last step, so over
 * more than one pre-copy round, passes it at the destination, from where it stopped, and
 * its source exits 0 saying where it went; the real Linux guest of this framework,
 * migrated while its shell appends numbered lines to a file on an ext2 disk both
 * share, finishes the loop at the destination, and the file holds every line once, on
 * a file system e2fsck finds clean; a destination that goes away in the middle leaves
 * the guest running here, and it finishes its self-test. Every migration sends each
 * page's checksum along (lguest.migration.verify), and the destination refuses a copy
 * that differs from the source's memory at the stop: a page the dirty log missed
 * fails the test.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class MigrationIT {
    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final String VERIFY = "-Dlguest.migration.verify=true";
    /** No dirty set is small enough for the last step: a guest that writes at all takes round after round. */
    private static final String EVERY_ROUND = "-Dlguest.migration.lastStepPages=0";
    private static final Pattern ROUNDS = Pattern.compile(", (\\d+) rounds, ");
    private static final Pattern MONITOR = Pattern.compile("monitor on 127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern LISTENING = Pattern.compile("waiting for a migrating guest on 127\\.0\\.0\\.1:(\\d+)");
    private static final int PASSES = 8;
    private static final int LINES = 4000;

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        // Every page's checksum goes along, and the destination refuses a copy that differs
        // from the source's memory at the stop: a page the dirty log missed fails the test.
        return new Option[] {DefaultBuild.options(),
            org.ops4j.pax.exam.CoreOptions.systemProperty("lguest.migration.verify").value("true")};
    }

    @Test
    public void theTestKernelMovesBetweenTwoProcessesInItsSelfTestAndPassesIt() throws Exception {
        Path disk = Files.createTempFile("testkernel-disk", ".img");
        Files.write(disk, new byte[1 << 20]);
        try (LguestProcess.Background destination = LguestProcess.start("lguest", VERIFY, "--incoming=0");
             LguestProcess.Background source = LguestProcess.start("lguest", VERIFY, EVERY_ROUND, "--monitor=0",
                     "--block=" + disk,
                     "32", java.nio.file.Path.of(System.getProperty("lguest.guests"), "testkernel.elf").toString(),
                     "loop=" + PASSES)) {
            int port = Integer.parseInt(destination.awaitErr(LISTENING, TIMEOUT));
            int monitor = Integer.parseInt(source.awaitErr(MONITOR, TIMEOUT));
            source.awaitOut("ok 12 ", TIMEOUT);
            String answer;
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), monitor);
                 var in = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream()))) {
                s.getOutputStream().write(("migrate 127.0.0.1:" + port + "\n").getBytes());
                answer = in.readLine();
            }
            assertTrue(answer, answer.startsWith("migrated to 127.0.0.1:" + port + ": stood still "));
            // A round after the first begins only when pages were written since the one before
            // (more than lastStepPages, none here) and sends them again; the checksums then
            // show the destination's copy equal to the source's memory at the stop.
            Matcher rounds = ROUNDS.matcher(answer);
            assertTrue(answer, rounds.find() && Integer.parseInt(rounds.group(1)) > 1);
            LguestProcess.Result left = source.finish(TIMEOUT);
            assertEquals(left.toString(), 0, left.exitCode());
            assertEquals(left.toString(), "lguest: monitor on 127.0.0.1:" + monitor + "\n"
                    + "lguest: the guest migrated to 127.0.0.1:" + port + "\n", left.err());
            String before = left.out();
            assertFalse("the self-test ended before the migration:\n" + before, before.contains("# passed "));

            LguestProcess.Result result = destination.finish(TIMEOUT);
            assertEquals(result.toString(), 0, result.exitCode());
            String after = result.out();
            assertFalse(after, after.contains("not ok"));
            assertTrue(after, after.contains("# pass " + PASSES + ": passed"));
            // Each later pass runs every test again (the disk's among them) and prints only failures.
            assertTrue(after, after.lines().anyMatch(l -> l.matches("# passed \\d+ failed 0")));
            // The guest goes on where it stopped: the lines it printed there are not printed again.
            String lastBefore = before.lines().reduce((a, b) -> b).orElseThrow();
            assertFalse(after, after.contains(lastBefore + "\n"));
        } finally {
            Files.deleteIfExists(disk);
        }
    }

    @Test
    public void aDestinationThatGoesAwayMidwayLeavesTheGuestRunningHere() throws Exception {
        LinuxGuest.awaitDevices(context);
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             GuestRun run = GuestRun.boot(launcher, new BootSpec(32, null, Guests.image("testkernel.elf"), null, null,
                     List.of("loop=" + PASSES), false))) {
            // A peer that takes the header and a few pages, then hangs up.
            Thread peer = new Thread(() -> {
                try (Socket s = server.accept()) {
                    new DataInputStream(s.getInputStream()).readFully(new byte[100_000]);
                } catch (Exception e) {
                    // it goes away either way
                }
            });
            peer.start();
            run.awaitLine("ok 12 ", TIMEOUT);
            try {
                run.migrate("127.0.0.1", server.getLocalPort());
                fail("the migration to a peer that went away succeeded");
            } catch (SnapshotException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("broke off")
                        && e.getMessage().endsWith("the guest runs on here"));
                assertFalse(e.getMessage(), e.getMessage().contains("\n"));
            }
            peer.join();
            run.awaitLine(l -> l.matches("# passed \\d+ failed 0"), "the self-test's end", TIMEOUT);
            assertEquals("Power down", run.exitReason(TIMEOUT));
            assertFalse(run.output(), run.output().contains("not ok"));
        }
    }

    @Test
    public void theLinuxGuestMigratedDuringAnExt2WriteWorkloadLosesNothing() throws Exception {
        Path dir = LinuxSnapshotIT.linuxDirectory();
        Path vmlinux = dir.resolve("vmlinux-2.6.24-lguest");
        Path initrd = dir.resolve("initramfs-smoke.cpio.gz");
        org.junit.Assume.assumeTrue("no Linux guest in " + dir.toAbsolutePath() + " (set lguest.linux): skipped",
                Files.isRegularFile(vmlinux) && Files.isRegularFile(initrd));
        String mkfs = HostTools.find("mkfs.ext2");
        String fsck = HostTools.find("e2fsck");
        String debugfs = HostTools.find("debugfs");
        LinuxGuest.awaitDevices(context);
        Path disk = Files.createTempFile("migrate-ext2", ".img");
        try (LguestProcess.Background destination = LguestProcess.start("lguest", "--incoming=0")) {
            var made = HostTools.run(mkfs, "-q", "-F", "-b", "1024", disk.toString(), "8192");
            assertEquals("mkfs.ext2: " + made.output(), 0, made.status());
            int port = Integer.parseInt(destination.awaitErr(LISTENING, TIMEOUT));
            String before;
            try (GuestRun run = GuestRun.boot(launcher, new BootSpec(64, vmlinux, null, initrd, disk,
                    List.of("rdinit=/bin/sh"), false))) {
                // The quotes keep the echo of the typed line from matching what the commands print.
                run.type("mkdir -p /mnt; mount -t proc proc /proc; mount -t sysfs sysfs /sys; v=$(cat /sys/block/vda/dev);"
                        + " mknod /dev/vda b ${v%%:*} ${v##*:}; mount -t ext2 /dev/vda /mnt; i=0; while [ $i -lt "
                        + LINES + " ]; do i=$((i+1)); echo \"line $i\" >> /mnt/lines.txt;"
                        + " [ $((i % 200)) = 0 ] && echo PRO''GRESS $i; done; umount /mnt; echo DO''NE $?;"
                        + " poweroff -f\n");
                run.awaitLine("PROGRESS 400", TIMEOUT);
                Migrations.Migrated moved = run.migrate("127.0.0.1", port);
                assertEquals("migrated to 127.0.0.1:" + port, run.exitReason(TIMEOUT));
                before = run.output();
                assertFalse("the workload ended before the migration; make it longer:\n" + before,
                        before.contains("DONE"));
                System.out.println("MigrationIT: Linux under an ext2 write load: " + moved);
            }
            LguestProcess.Result result = destination.finish(TIMEOUT);
            assertEquals(result.toString(), 0, result.exitCode());
            assertTrue(result.toString(), result.out().contains("DONE 0"));
            assertTrue(result.toString(), result.out().contains("PROGRESS " + LINES));
        }
        try {
            var checked = HostTools.run(fsck, "-f", "-n", disk.toString());
            assertEquals("e2fsck -fn found problems:\n" + checked.output(), 0, checked.status());
            String lines = HostTools.run(debugfs, "-R", "cat /lines.txt", disk.toString()).output();
            String expected = IntStream.rangeClosed(1, LINES).mapToObj(i -> "line " + i + "\n")
                    .collect(Collectors.joining());
            assertEquals("every line once, in order", expected, lines);
        } finally {
            Files.deleteIfExists(disk);
        }
    }
}
