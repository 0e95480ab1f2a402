package dev.lguest.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The translator checked against the interpreter on a real Linux boot to an
 * interactive shell: the default build (the translator) runs the shared 2.6.24 kernel
 * in lockstep (lguest.jit.lockstep: a reference interpreter on its own copy of RAM
 * catches up after every block the translator ran, and the whole CPU state must be
 * equal there; RAM must be equal at the end of each run()), strict (a block the
 * translator fails on stops the guest), compiling a block after a few runs
 * (lguest.jit.threshold) so that most of what runs is compiled code, and a loop's hot
 * blocks again as one region after a few dozen compiled runs (lguest.jit.regionThreshold)
 * so that regions run in the comparison too. Commands are typed
 * on the console and their output checked: shell arithmetic, ls /, /proc/cpuinfo, a
 * loop, a pipe, the project's checksum program (guest/programs/checksum.c, whose answer
 * the host knows); then power off. The translator's report must show translations
 * made, and lockstep's closing line block ends compared with no difference (a
 * difference also shuts the guest down, so the commands would never answer;
 * LockstepTest in the translator's module shows both).
 *
 * A full lockstep (every run() checked) copies and compares all guest RAM at the ends
 * of every run(), thousands a second under Linux, so the test checks one run() in
 * lguest.lockstep.every (4 by default: each checked run in full, the sample spread
 * over the whole boot and session) to fit the test budget. Measured at load ~23 on two
 * cores (the guest's JVM, CPU seconds): one run in 16, 24 s (761 runs and 194,987 block
 * ends compared); every run, 118 s (18,037 runs, 19,003,777 block ends; 20 minutes of
 * wall time at that load). The long form checks every run:
 * ./mvnw -B verify -pl itests -am -Dit.test=LinuxLockstepIT -Dtest=none
 * -Dsurefire.failIfNoSpecifiedTests=false -Dlguest.lockstep.every=1
 * Skipped, with one line, where there is no Linux kernel (LinuxGuest).
 */
public class LinuxLockstepIT {
    private static final int EVERY = Integer.getInteger("lguest.lockstep.every", 4);
    private static final int THRESHOLD = Integer.getInteger("lguest.lockstep.threshold", 10);
    private static final int REGION_THRESHOLD = Integer.getInteger("lguest.lockstep.regionThreshold", 50);
    /** Small, since each checked run copies and compares all of it; 2.6.24 and busybox need no more. */
    private static final String MEMORY_MB = "24";
    private static final int CHECKSUM_ROUNDS = 20_000;
    private static final Duration STEP = Duration.ofMinutes(EVERY == 1 ? 60 : 20);
    private static final Pattern SUMMARY = Pattern.compile(
            "lockstep: ([0-9,]+) block ends and ([0-9,]+) run ends compared with the interpreter, (\\d+) differences");
    private static final Pattern TRANSLATIONS = Pattern.compile("jit: ([0-9,]+) translations made");
    private static final Pattern REGIONS = Pattern.compile("jit: ([0-9,]+) regions made");

    private Path initrd;

    @Before
    public void kernelAndInitramfs() throws Exception {
        LinuxGuest.assumeKernel();
        initrd = Files.createTempFile("linux-lockstep", ".cpio.gz");
        LinuxGuest.initramfs("#!/bin/sh\nexport PATH=/bin\nexec /bin/sh\n",
                Map.of("/bin/checksum", Guests.image("checksum.elf"))).writeGzip(initrd);
    }

    @After
    public void removeInitramfs() throws Exception {
        if (initrd != null) {
            Files.deleteIfExists(initrd);
        }
    }

    @Test
    public void aShellSessionOnTheTranslatorAgreesWithTheInterpreterAtEveryBlockEnd() throws Exception {
        Path kernel = LinuxGuest.directory().resolve(LinuxGuest.KERNEL).toAbsolutePath().normalize();
        try (LguestProcess.Background guest = LguestProcess.start("lguest",
                "-Dlguest.jit.lockstep=true", "-Dlguest.jit.lockstepEvery=" + EVERY,
                "-Dlguest.jit.threshold=" + THRESHOLD, "-Dlguest.jit.regionThreshold=" + REGION_THRESHOLD,
                "-Dlguest.jit.strict=true", "-Dlguest.jit.report=true",
                MEMORY_MB, kernel.toString(), "--initrd=" + initrd)) {
            // The typed line comes back as the terminal's echo: each awaited answer is text
            // the command line itself does not hold.
            guest.type("echo answer-$((6 * 7))\n");
            guest.awaitOut("answer-42", STEP);
            guest.type("ls / | tr -d ' \\n'; echo ''; echo ls''-done\n");
            guest.awaitOut("ls-done", STEP);
            // The boot messages name the CPU too: the answer is the line sed rewrote.
            guest.type("mount -t proc proc /proc && sed -n 's/^model name.*: /model-/p' /proc/cpuinfo\n");
            guest.awaitOut("model-Pentium II (Deschutes)", STEP);
            guest.type("i=0; s=0; while [ $i -lt 200 ]; do i=$((i + 1)); s=$((s + i * i)); done; echo sum-$s\n");
            guest.awaitOut("sum-2686700", STEP);
            guest.type("seq 1 30 | grep 3 | wc -l | sed 's/^/lines-/'\n");
            guest.awaitOut("lines-4", STEP);
            guest.type("/bin/checksum " + CHECKSUM_ROUNDS + "\n");
            String checksum = String.format("checksum 0x%08x", Guests.checksum(CHECKSUM_ROUNDS));
            guest.awaitOut(checksum, STEP);
            guest.type("poweroff -f\n");
            LguestProcess.Result end = guest.finish(STEP);

            assertEquals(end.toString(), 0, end.exitCode());
            String out = end.out();
            assertTrue(end.toString(), out.contains("Power down."));
            // ls / with its lines joined: the initramfs's folders and /init, sorted.
            assertTrue(end.toString(), out.contains("bindevinitmntprocrootsbinsystmpusr"));
            Matcher translations = TRANSLATIONS.matcher(end.err());
            assertTrue(end.toString(), translations.find());
            assertTrue("blocks were compiled: " + translations.group(1), number(translations.group(1)) > 100);
            Matcher regions = REGIONS.matcher(end.err());
            assertTrue(end.toString(), regions.find());
            assertTrue("regions were made: " + regions.group(1), number(regions.group(1)) > 0);
            Matcher summary = SUMMARY.matcher(end.err());
            assertTrue(end.toString(), summary.find());
            long blockEnds = number(summary.group(1));
            long runEnds = number(summary.group(2));
            System.out.printf("LinuxLockstepIT: one run() in %d checked, threshold %d: %,d block ends and %,d run ends"
                    + " compared, %s differences, %s translations, %s regions%n", EVERY, THRESHOLD, blockEnds, runEnds,
                    summary.group(3), translations.group(1), regions.group(1));
            assertTrue(summary.group(), blockEnds > 10_000);
            assertTrue(summary.group(), runEnds > 100);
            assertEquals(summary.group(), "0", summary.group(3));
        }
    }

    private static long number(String digits) {
        return Long.parseLong(digits.replace(",", ""));
    }
}
