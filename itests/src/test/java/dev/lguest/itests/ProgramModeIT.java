package dev.lguest.itests;

import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
import dev.lguest.api.launcher.GuestSession;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

import javax.inject.Inject;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * The test kernel's program mode: it unpacks a cpio initrd (gzip'ed or not), loads
 * static i386 Linux programs from it at ring 3, each in its own address space, and
 * serves their int $0x80 system calls. guest/bench's workload must print exactly what
 * it prints natively, and guest/programs' syscheck (brk, mmap, munmap, getpid, time,
 * uname, read, errors) must pass every check, as it does on Linux.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ProgramModeIT {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);
    /** What `bench-linux.elf 2` prints natively (checked on Linux and under qemu-i386). */
    private static final String WORKLOAD_2 = "workload 2 0x974b1e1e\n";

    @Inject
    private GuestLauncher launcher;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    private record Result(GuestOutcome outcome, String output) {
    }

    private Result boot(byte[] initrd, String... args) throws Exception {
        Path file = Initrd.file(initrd);
        try {
            ByteArrayOutputStream console = new ByteArrayOutputStream();
            GuestSession session = launcher.boot(new BootSpec(64, null, Guests.image("testkernel.elf"), file, null,
                    List.of(args), false), console);
            GuestOutcome outcome = session.await(TIMEOUT).orElseThrow(() -> new AssertionError(
                    "the test kernel did not finish; it printed: " + console.toString(StandardCharsets.ISO_8859_1)));
            return new Result(outcome, console.toString(StandardCharsets.ISO_8859_1));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static byte[] programs(Map<String, byte[]> extra) throws Exception {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("bench-linux.elf", Guests.image("bench-linux.elf"));
        files.put("syscheck.elf", Guests.image("syscheck.elf"));
        files.putAll(extra);
        return Initrd.newc(files);
    }

    @Test
    public void workloadPrintsWhatItPrintsNatively() throws Exception {
        Result r = boot(Initrd.gzip(programs(Map.of())), "mode=programs", "run=bench-linux.elf,2");
        assertTrue(r.outcome.reason() + "; it printed: " + r.output, r.outcome.poweredOff());
        assertEquals(WORKLOAD_2, r.output);
    }

    @Test
    public void syscheckPassesEveryCheck() throws Exception {
        byte[] initrd = programs(Map.of("input.txt", "a line for read(0)\nand another\n".getBytes(StandardCharsets.US_ASCII)));
        Result r = boot(initrd, "mode=programs", "run=syscheck.elf,alpha,beta", "stdin=input.txt");
        assertTrue(r.outcome.reason() + "; it printed: " + r.output, r.outcome.poweredOff());
        TapReport tap = TapReport.parse(r.output);
        assertTrue("syscheck printed its plan:\n" + r.output, tap.plan > 0);
        assertEquals("every check was reported:\n" + r.output, tap.plan, tap.tests.size());
        assertEquals("checks that failed:\n" + r.output, List.of(), tap.realFailures());
        assertTrue(r.output, r.output.startsWith("syscheck: argc 3 [alpha] [beta]\n"));
        assertTrue(r.output, r.output.contains("syscheck: stdin: a line for read(0)\n"));
        assertFalse("a zero exit status says nothing:\n" + r.output, r.output.contains("exited with status"));
    }

    @Test
    public void programsRunOneAfterAnotherWithAnEmptyStdin() throws Exception {
        Result r = boot(programs(Map.of()), "mode=programs", "run=bench-linux.elf,2", "run=syscheck.elf",
                "run=bench-linux.elf,2");
        assertTrue(r.outcome.reason() + "; it printed: " + r.output, r.outcome.poweredOff());
        assertTrue(r.output, r.output.startsWith(WORKLOAD_2 + "syscheck: argc 1\n"));
        assertTrue(r.output, r.output.endsWith("syscheck: stdin: (empty)\n1..17\n" + WORKLOAD_2));
    }

    @Test
    public void aMissingProgramEndsTheGuestNamingIt() throws Exception {
        Result r = boot(programs(Map.of()), "mode=programs", "run=no-such-program");
        assertFalse(r.outcome.poweredOff());
        assertEquals("testkernel: no such program in the initrd: no-such-program", r.outcome.reason());
    }
}
