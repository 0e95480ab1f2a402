package dev.lguest.itests;

import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.LauncherDevice;
import dev.lguest.api.snapshot.Migrations;
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
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.function.ToDoubleFunction;
import java.util.regex.Pattern;

/**
 * The migration benchmark: a 64 MB guest migrated live, over loopback TCP, again and
 * again; per kind of guest the median (and worst) downtime (from the guest's stop at
 * the source to the destination's word that it runs there), the whole migration's
 * time, the pre-copy rounds and the pages sent. Not a test (verify leaves it out, its
 * name does not end in IT); nothing is asserted. Run it with
 * benchmarks/migration-benchmark; the table goes to target/migration-benchmark.txt.
 *
 * Each guest moves between two Launcher sessions of this framework (the destination
 * receives on a thread of its own, over a real TCP connection), back and forth, so one
 * boot serves every round; the last row moves the idle guest to a new process
 * (`lguest --incoming=0`), whose code has not run yet, the cold case a user meets, as
 * many times, each to another new process (and back through its monitor, unmeasured). Guests: the real Linux guest idle at its shell prompt (the goal: under 50 ms
 * of downtime), the same appending lines to a file on an ext2 disk, and rewriting
 * 8 MB of tmpfs over and over (a write load the pre-copy cannot outrun); where the
 * prebuilt Linux is absent, the test kernel looping its self-test instead.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class MigrationBenchmark {
    private static final int ROUNDS = Integer.getInteger("lguest.migration.rounds", 5);
    private static final Duration TIMEOUT = Duration.ofMinutes(5);
    private static final Pattern MONITOR = Pattern.compile("monitor on 127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern LISTENING = Pattern.compile("waiting for a migrating guest on 127\\.0\\.0\\.1:(\\d+)");

    @Inject
    private GuestLauncher launcher;

    @Inject
    private Migrations migrations;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        // -Dlguest.migration.verify=true passes on: every page's checksum goes along and the
        // destination names the pages that arrived different (a debugging run, slower).
        return new Option[] {DefaultBuild.options(), org.ops4j.pax.exam.CoreOptions.systemProperty(
                "lguest.migration.verify").value(System.getProperty("lguest.migration.verify", "false"))};
    }

    private record Row(String guest, int n, double downMs, double downMaxMs, double totalMs, double rounds,
                       double pages, double lastPages) {
    }

    @Test
    public void downtimeAndTotalTime() throws Exception {
        LinuxGuest.awaitDevices(context);
        List<Row> rows = new ArrayList<>();
        Path dir = LinuxSnapshotIT.linuxDirectory();
        Path vmlinux = dir.resolve("vmlinux-2.6.24-lguest");
        Path initrd = dir.resolve("initramfs-smoke.cpio.gz");
        if (!Files.isRegularFile(vmlinux) || !Files.isRegularFile(initrd)) {
            GuestRun run = GuestRun.boot(launcher, new BootSpec(64, null, Guests.image("testkernel.elf"), null, null,
                    List.of("loop=0"), false));
            PingPong moved = pingPong("test kernel, self-test looping", run);
            rows.add(moved.row());
            moved.last().close();
        } else {
            Path disk = Files.createTempFile("migration-benchmark", ".img");
            try {
                var made = HostTools.run(HostTools.find("mkfs.ext2"), "-q", "-F", "-b",
                        "1024", disk.toString(), "65536");
                if (made.status() != 0) {
                    throw new AssertionError("mkfs.ext2: " + made.output());
                }
                GuestRun run = GuestRun.boot(launcher, new BootSpec(64, vmlinux, null, initrd, disk,
                        List.of("rdinit=/bin/sh"), false));
                run.type("mkdir -p /mnt; mount -t proc proc /proc; mount -t sysfs sysfs /sys;"
                        + " v=$(cat /sys/block/vda/dev); mknod /dev/vda b ${v%%:*} ${v##*:};"
                        + " mount -t ext2 /dev/vda /mnt; mount -t tmpfs none /tmp; echo RE''ADY\n");
                run.awaitLine(l -> l.trim().equals("READY"), "the shell", TIMEOUT);
                Thread.sleep(2000); // the shell settles at its prompt: an idle guest
                PingPong idle = pingPong("Linux 2.6.24, idle at the shell prompt", run);
                rows.add(idle.row());
                // The console goes with the guest: the next commands are typed where it runs now.
                idle.last().type("i=0; while true; do i=$((i+1)); echo \"line $i\" >> /mnt/lines.txt; done &\n");
                Thread.sleep(2000);
                PingPong ext2 = pingPong("Linux, appending lines to an ext2 file", idle.last());
                rows.add(ext2.row());
                ext2.last().type("kill $!; yes 0123456789abcdef | head -c 8388608 > /tmp/seed;"
                        + " while true; do cp /tmp/seed /tmp/copy; done &\n");
                Thread.sleep(3000);
                PingPong tmpfs = pingPong("Linux, rewriting 8 MB of tmpfs", ext2.last());
                rows.add(tmpfs.row());
                tmpfs.last().type("kill $!; sleep 1; echo IDLE''AGAIN\n");
                tmpfs.last().awaitLine(l -> l.trim().equals("IDLEAGAIN"),
                        "the loads' end", TIMEOUT);
                Thread.sleep(2000);
                PingPong cold = toNewProcesses("Linux idle, to a new process (cold)", tmpfs.last());
                rows.add(cold.row());
                cold.last().close();
            } finally {
                Files.deleteIfExists(disk);
            }
        }
        String table = table(rows);
        System.out.print(table);
        Path out = Path.of("target", "migration-benchmark.txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, table);
    }

    /** Migrations of one guest back and forth between two sessions of this framework; the run it ends in. */
    private record PingPong(Row row, GuestRun last) {
    }

    private PingPong pingPong(String name, GuestRun first) throws Exception {
        GuestRun current = first;
        List<Migrations.Migrated> done = new ArrayList<>();
        for (int i = 0; i < ROUNDS; i++) {
            try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                CompletableFuture<GuestRun> received = CompletableFuture.supplyAsync(() -> {
                    try {
                        return GuestRun.receive(migrations, server);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                done.add(current.migrate("127.0.0.1", server.getLocalPort()));
                current.close();
                current = received.get();
            }
        }
        return new PingPong(row(name, done), current);
    }

    /**
     * The cold case, {@code ROUNDS} times: the guest migrates to a new `lguest --incoming=0`
     * process, whose code has not run yet, and comes back through that one's monitor to
     * this framework (not measured) for the next. Returns the row and the guest, here again.
     */
    private PingPong toNewProcesses(String name, GuestRun first) throws Exception {
        GuestRun current = first;
        List<Migrations.Migrated> done = new ArrayList<>();
        for (int i = 0; i < ROUNDS; i++) {
            try (LguestProcess.Background destination = LguestProcess.start("lguest", "--monitor=0", "--incoming=0");
                 ServerSocket back = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                int port = Integer.parseInt(destination.awaitErr(LISTENING, TIMEOUT));
                int monitor = Integer.parseInt(destination.awaitErr(MONITOR, TIMEOUT));
                done.add(current.migrate("127.0.0.1", port));
                current.close();
                CompletableFuture<GuestRun> received = CompletableFuture.supplyAsync(() -> {
                    try {
                        return GuestRun.receive(migrations, back);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                Thread.sleep(1000); // the guest settles at the destination, idle again
                try (Socket s = new Socket(InetAddress.getLoopbackAddress(), monitor);
                     var in = new BufferedReader(new InputStreamReader(s.getInputStream()))) {
                    s.getOutputStream().write(("migrate 127.0.0.1:" + back.getLocalPort() + "\n").getBytes());
                    String answer = in.readLine();
                    if (answer == null || !answer.startsWith("migrated to ")) {
                        throw new AssertionError("the guest did not come back: " + answer);
                    }
                }
                current = received.get();
                destination.finish(TIMEOUT);
            }
            Thread.sleep(1000);
        }
        return new PingPong(row(name, done), current);
    }

    private static Row row(String name, List<Migrations.Migrated> done) {
        return new Row(name, done.size(), median(done, m -> m.downtimeNanos() / 1e6),
                done.stream().mapToDouble(m -> m.downtimeNanos() / 1e6).max().orElse(0),
                median(done, m -> m.totalNanos() / 1e6), median(done, Migrations.Migrated::rounds),
                median(done, Migrations.Migrated::pagesSent), median(done, Migrations.Migrated::lastPages));
    }

    private static double median(List<Migrations.Migrated> done, ToDoubleFunction<Migrations.Migrated> f) {
        double[] values = done.stream().mapToDouble(f).toArray();
        Arrays.sort(values);
        return values[values.length / 2];
    }

    private static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "live migration of a 64 MB guest over loopback TCP (medians; downtime = stopped at the source until"
                        + " it runs at the destination)%n"));
        b.append(String.format(Locale.ROOT, "%-42s %3s %10s %10s %10s %7s %8s %6s%n", "guest", "n", "down ms",
                "worst ms", "total ms", "rounds", "pages", "last"));
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "%-42s %3d %10.1f %10.1f %10.1f %7.0f %8.0f %6.0f%n", r.guest(),
                    r.n(), r.downMs(), r.downMaxMs(), r.totalMs(), r.rounds(), r.pages(), r.lastPages()));
        }
        return b.toString();
    }
}
