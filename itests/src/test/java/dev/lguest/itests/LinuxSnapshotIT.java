package dev.lguest.itests;

import dev.lguest.api.launcher.BootSpec;
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
import org.osgi.framework.BundleContext;

import javax.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * The real Linux 2.6.24 guest saved in the middle of a shell workload, here, and
 * restored in a new process (the default build's jar, and the simple MMU build's):
 * the workload finishes there with the right sum, and the guest's uptime after the
 * restore is not below what it was before the save (its clock never runs backwards).
 * Skipped, with one line, where the prebuilt guest is absent (lguest.linux names its
 * directory; ../shared/linux-2.6.24 from the project's root by default).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class LinuxSnapshotIT {
    private static final Duration TIMEOUT = Duration.ofMinutes(4);
    private static final int ROUNDS = 8000;
    private static final Pattern START = Pattern.compile("^START (\\d+\\.\\d+)$");
    private static final Pattern RESULT = Pattern.compile("^RESULT (\\d+) (\\d+\\.\\d+)$");

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    static Path linuxDirectory() {
        return Path.of(System.getProperty("lguest.linux", "../../shared/linux-2.6.24"));
    }

    @Test
    public void aShellWorkloadSavedMidwayFinishesInANewProcessOnEitherBuild() throws Exception {
        Path dir = linuxDirectory();
        Path vmlinux = dir.resolve("vmlinux-2.6.24-lguest");
        Path initrd = dir.resolve("initramfs-smoke.cpio.gz");
        Assume.assumeTrue("no Linux guest in " + dir.toAbsolutePath() + " (set lguest.linux): skipped",
                Files.isRegularFile(vmlinux) && Files.isRegularFile(initrd));
        LinuxGuest.awaitDevices(context);
        Path file = Files.createTempFile("linux", ".snap");
        try {
            double uptimeBefore;
            try (GuestRun run = GuestRun.boot(launcher, new BootSpec(64, vmlinux, null, initrd, null,
                    List.of("rdinit=/bin/sh"), false))) {
                // The quotes keep the echo of the typed line from matching what the commands print.
                run.type("mount -t proc proc /proc; echo ST''ART $(cut -d' ' -f1 /proc/uptime); i=0; s=0; while [ $i -lt " + ROUNDS
                        + " ]; do i=$((i+1)); s=$((s+i)); done; echo RES''ULT $s $(cut -d' ' -f1 /proc/uptime);"
                        + " poweroff -f\n");
                String start = run.awaitLine(l -> START.matcher(l.trim()).matches(), "the workload's start", TIMEOUT);
                Matcher m = START.matcher(start.trim());
                assertTrue(m.matches());
                uptimeBefore = Double.parseDouble(m.group(1));
                run.saveAndStop(file);
                assertFalse("the workload ended before the save; make it longer:\n" + run.output(),
                        run.output().contains("RESULT"));
            }
            long sum = (long) ROUNDS * (ROUNDS + 1) / 2;
            for (String build : List.of("lguest", "lguest-simple-mmu")) {
                LguestProcess.Result result = LguestProcess.run(build, "--restore=" + file);
                assertEquals(build + ": " + result, 0, result.exitCode());
                Matcher r = result.out().lines().map(l -> RESULT.matcher(l.trim())).filter(Matcher::matches)
                        .findFirst().orElseThrow(() -> new AssertionError(build + ": no RESULT line: " + result));
                assertEquals(build + ": " + result, Long.toString(sum), r.group(1));
                assertTrue(build + ": uptime " + r.group(2) + " after the restore, " + uptimeBefore + " before",
                        Double.parseDouble(r.group(2)) >= uptimeBefore);
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
