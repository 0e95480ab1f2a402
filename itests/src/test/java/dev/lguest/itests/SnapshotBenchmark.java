package dev.lguest.itests;

import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestSession;
import dev.lguest.api.launcher.LauncherDevice;
import dev.lguest.api.snapshot.Snapshots;
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
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The snapshot benchmark: for a 64 MB guest, how big its snapshot is, how long the
 * guest stands still while it is taken (the Launcher's own measure: from the guest's
 * stop between two runs to its release, RAM compression included), how long writing
 * the file takes after that, and how long a restore takes until the guest is ready
 * to run. Not a test (verify leaves it out, its name does not end in IT); nothing is
 * asserted. Run it with benchmarks/snapshot-benchmark; the table goes to
 * target/snapshot-benchmark.txt.
 *
 * Three guests: the test kernel idling in 64 MB (almost all of it zero pages, which
 * are not written), the real Linux guest after boot with a shell waiting, and the
 * same after it wrote 24 MB of random bytes into a tmpfs (memory that neither zero
 * skipping nor Deflater makes smaller). The Linux rows are left out where the
 * prebuilt guest is absent.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class SnapshotBenchmark {
    private static final int ROUNDS = Integer.getInteger("lguest.snapshot.rounds", 5);
    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    @Inject
    private GuestLauncher launcher;

    @Inject
    private Snapshots snapshots;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    private record Row(String guest, long bytes, int pages, double pauseMs, double writeMs, double restoreMs) {
    }

    @Test
    public void snapshotSizeAndTimes() throws Exception {
        awaitDevices();
        List<Row> rows = new ArrayList<>();
        try (GuestRun run = GuestRun.boot(launcher, new BootSpec(64, null, Guests.image("testkernel.elf"), null, null,
                List.of("loop=0"), false))) {
            run.awaitLine("# pass 1:", TIMEOUT);
            rows.add(measure("test kernel, self-test looping", run));
        }
        Path dir = LinuxSnapshotIT.linuxDirectory();
        Path vmlinux = dir.resolve("vmlinux-2.6.24-lguest");
        Path initrd = dir.resolve("initramfs-smoke.cpio.gz");
        if (Files.isRegularFile(vmlinux) && Files.isRegularFile(initrd)) {
            try (GuestRun run = GuestRun.boot(launcher, new BootSpec(64, vmlinux, null, initrd, null,
                    List.of("rdinit=/bin/sh"), false))) {
                run.type("echo RE''ADY\n");
                run.awaitLine(l -> l.trim().equals("READY"), "the shell", TIMEOUT);
                rows.add(measure("Linux 2.6.24, shell after boot", run));
                // 256 KB from urandom (slow on an interpreter) copied 96 times: each copy is far
                // outside Deflater's 32 KB window, so nothing of it compresses.
                run.type("mount -t tmpfs none /tmp; mknod /dev/urandom c 1 9;"
                        + " dd if=/dev/urandom of=/tmp/r bs=4096 count=64 2>/dev/null; i=0;"
                        + " while [ $i -lt 96 ]; do cat /tmp/r >> /tmp/fill; i=$((i+1)); done; echo FI''LLED\n");
                run.awaitLine(l -> l.trim().equals("FILLED"), "the fill", TIMEOUT);
                rows.add(measure("Linux, 24 MB of random bytes in tmpfs", run));
            }
        }
        String table = table(rows);
        System.out.print(table);
        Path out = Path.of("target", "snapshot-benchmark.txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, table);
    }

    /** Saves the running guest ROUNDS times and restores the last file as often; medians. */
    private Row measure(String name, GuestRun run) throws Exception {
        Path file = Files.createTempFile("benchmark", ".snap");
        try {
            double[] pause = new double[ROUNDS];
            double[] write = new double[ROUNDS];
            double[] restore = new double[ROUNDS];
            Snapshots.Saved saved = null;
            for (int i = 0; i < ROUNDS; i++) {
                long start = System.nanoTime();
                saved = run.save(file);
                pause[i] = saved.pauseNanos() / 1e6;
                write[i] = (System.nanoTime() - start - saved.pauseNanos()) / 1e6;
            }
            for (int i = 0; i < ROUNDS; i++) {
                long start = System.nanoTime();
                GuestSession restored = snapshots.restore(file, null, OutputStream.nullOutputStream(), null);
                restore[i] = (System.nanoTime() - start) / 1e6;
                restored.stop();
            }
            return new Row(name, saved.bytes(), saved.ramPages(), median(pause), median(write), median(restore));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "snapshot of a 64 MB guest (median of %d; pause = guest stopped, write = file written after)%n", ROUNDS));
        b.append(String.format(Locale.ROOT, "%-40s %10s %8s %10s %10s %12s%n", "guest", "file MB", "pages",
                "pause ms", "write ms", "restore ms"));
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "%-40s %10.2f %8d %10.1f %10.1f %12.1f%n", r.guest(),
                    r.bytes() / 1048576.0, r.pages(), r.pauseMs(), r.writeMs(), r.restoreMs()));
        }
        return b.toString();
    }

    private void awaitDevices() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (context.getServiceReferences(LauncherDevice.class, null).size() < 2) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the virtio device services did not appear");
            }
            Thread.sleep(50);
        }
    }
}
