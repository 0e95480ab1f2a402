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

import javax.inject.Inject;
import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * The test kernel's benchmark mode runs to the end and prints a rate for each thing
 * it measures (hypercalls, direct-trap system calls, page faults, context switches
 * between ring-3 processes, timer interrupts, virtio block). The figures themselves
 * are not checked: benchmarks print, tests do not assert speed. This only makes
 * sure the benchmark keeps working.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class BenchmarkModeIT {
    private static final List<String> MEASURED = List.of("hypercalls", "system calls", "page faults",
            "context switches", "timer interrupts", "virtio block write\\+flush", "virtio block read");

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    @Test
    public void everyBenchmarkPrintsARate() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (context.getServiceReferences(LauncherDevice.class, null).size() < 2) {
            if (System.nanoTime() > deadline) {
                fail("the virtio device services did not appear");
            }
            Thread.sleep(50);
        }
        Path disk = Files.createTempFile("testkernel-bench", ".img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(8L << 20);
        }
        try {
            ByteArrayOutputStream console = new ByteArrayOutputStream();
            GuestSession session = launcher.boot(new BootSpec(64, null, Guests.image("testkernel.elf"), null, disk,
                    List.of("mode=benchmark"), false), console);
            GuestOutcome outcome = session.await(Duration.ofMinutes(3)).orElseThrow(() -> new AssertionError(
                    "the benchmark did not finish; it printed: " + console.toString(StandardCharsets.ISO_8859_1)));
            String output = console.toString(StandardCharsets.ISO_8859_1);
            assertTrue(outcome.reason() + "; it printed: " + output, outcome.poweredOff());
            for (String what : MEASURED) {
                Pattern line = Pattern.compile("(?m)^benchmark: " + what + " [1-9][0-9]* .* per second \\(");
                assertTrue("no rate for " + what + " in:\n" + output, line.matcher(output).find());
            }
        } finally {
            Files.deleteIfExists(disk);
        }
    }
}
