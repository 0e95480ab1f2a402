package dev.lguest.itests;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.exam.GuestRun;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.wiring.BundleWiring;

import javax.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

/**
 * Every component replaced under the real Linux 2.6.24 guest while it works, the way
 * an operator would replace them under a production guest. Linux mounts an ext2 disk
 * made here and runs two jobs: a shell loop appending its counter, one number a line,
 * to a file on the disk (a sync every {@value #MARK_EVERY} lines, so the virtio disk is
 * written all along, and a "WRITER at N" mark on the console), and the checksum
 * program (guest/programs/checksum.c) again and again, each run printing a checksum
 * the host knows. Under them: each component in turn is swapped for a second copy of
 * its bundle and back, the CPU for the interpreter and back, the shadow page tables for
 * the simple MMU and back; then every component at once; then each updated in place
 * (Bundle.update and a refresh). After every step the test waits until both jobs have
 * made progress, so each step meets a guest that is working, and it never measures
 * time: all waits are for what the guest prints, with generous timeouts.
 *
 * Then the test tells /init (a line on the console) to stop the jobs; it syncs,
 * unmounts and powers off. Every checksum must be right, and on the host e2fsck -fn
 * must find the image clean and the file must hold 1..N, each line once, in order,
 * N being the last number the loop said it wrote. Skipped, with one line, where there
 * is no Linux kernel (LinuxGuest).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class LinuxSwapIT {
    /** One checksum run: long enough to be a CPU-bound job, short enough to show progress often. */
    private static final int ROUNDS = 1_000_000;
    private static final int MARK_EVERY = 200;
    private static final int DISK_KB = 16 * 1024;
    private static final Duration BOOT = Duration.ofMinutes(3);
    /** How long one step may take to be followed by progress of both jobs: a loaded machine is slow. */
    private static final Duration PROGRESS = Duration.ofMinutes(3);

    private static final String CHECKSUM_LINE = "checksum ";
    private static final String WRITER_MARK = "WRITER at ";

    private static final String INIT = """
            #!/bin/sh
            export PATH=/bin
            mount -t proc proc /proc
            mount -t sysfs sysfs /sys
            vda=$(cat /sys/block/vda/dev)
            mknod /dev/vda b ${vda%%:*} ${vda##*:}
            mount -t ext2 /dev/vda /mnt; echo "CHECK mount $?"
            (
              i=0
              while [ ! -e /tmp/stop ]; do
                i=$((i + 1))
                echo $i >> /mnt/lines.txt
                if [ $((i % MARK_EVERY)) -eq 0 ]; then sync; echo "WRITER at $i"; fi
              done
              echo "WRITER done $i"
            ) &
            writer=$!
            (
              n=0
              while [ ! -e /tmp/stop ]; do
                /bin/checksum ROUNDS || echo "CHECKSUM failed $?"
                n=$((n + 1))
              done
              echo "CPU done $n"
            ) &
            cpu=$!
            echo "WORKLOAD running"
            read answer
            touch /tmp/stop
            wait $writer
            wait $cpu
            sync
            umount /mnt; echo "CHECK umount $?"
            poweroff -f
            """.replace("MARK_EVERY", String.valueOf(MARK_EVERY)).replace("ROUNDS", String.valueOf(ROUNDS));

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    @Before
    public void needsAKernel() throws Exception {
        LinuxGuest.assumeKernel();
        LinuxGuest.awaitDevices(context);
    }

    @Test
    public void linuxKeepsEveryLineAndEveryChecksumThroughSwapsAndUpdates() throws Exception {
        String e2fsck = HostTools.find("e2fsck");
        String debugfs = HostTools.find("debugfs");
        Path disk = Files.createTempFile("linux-swap", ".img");
        Path initrd = Files.createTempFile("linux-swap", ".cpio.gz");
        try {
            HostTools.Result made = HostTools.run(HostTools.find("mkfs.ext2"), "-q", "-F", "-b", "1024",
                    disk.toString(), String.valueOf(DISK_KB));
            assertEquals("mkfs.ext2: " + made.output(), 0, made.status());
            LinuxGuest.initramfs(INIT, Map.of("/bin/checksum", Guests.image("checksum.elf"))).writeGzip(initrd);

            GuestOutcome outcome;
            String output;
            int steps;
            try (GuestRun run = LinuxGuest.boot(launcher, initrd, disk)) {
                Guest guest = run.awaitGuest(BOOT);
                run.awaitLine("WORKLOAD running", BOOT);
                Workload workload = new Workload(run, guest);
                workload.awaitProgress("the start");

                replaceEachInTurn(workload);
                replaceAllAtOnce(workload);
                updateEachInPlace(workload);

                steps = workload.steps - 1;
                run.type("stop\n");
                outcome = run.awaitEnd(BOOT);
                output = run.output();
            }
            String why = "the guest (" + outcome.reason() + ") printed:\n" + output;
            assertTrue(why, outcome.poweredOff());
            assertTrue(why, output.lines().anyMatch("CHECK mount 0"::equals));
            assertTrue(why, output.lines().anyMatch("CHECK umount 0"::equals));

            String expected = String.format("checksum 0x%08x", Guests.checksum(ROUNDS));
            List<String> checksums = output.lines().filter(l -> l.startsWith(CHECKSUM_LINE)).toList();
            assertTrue(why, checksums.stream().allMatch(expected::equals));
            assertEquals(why, "CPU done " + checksums.size(), lastLineStarting(output, "CPU done", why));

            String writerDone = "WRITER done ";
            int written = Integer.parseInt(lastLineStarting(output, writerDone, why).substring(writerDone.length()));
            HostTools.Result fsck = HostTools.run(e2fsck, "-f", "-n", disk.toString());
            assertEquals("e2fsck -fn found problems:\n" + fsck.output(), 0, fsck.status());
            String lines = HostTools.run(debugfs, "-R", "cat /lines.txt", disk.toString()).output();
            assertLinesOneToN(written, lines);
            System.out.printf("LinuxSwapIT: %d lines written and %d checksums right through %d steps of swaps and"
                    + " updates%n", written, checksums.size(), steps);
        } finally {
            Files.deleteIfExists(disk);
            Files.deleteIfExists(initrd);
        }
    }

    /** Each component for a second copy of its bundle and back; then the CPU and the MMU for the other implementation. */
    private void replaceEachInTurn(Workload workload) throws Exception {
        for (SwapKit.Component c : SwapKit.COMPONENTS) {
            try (SwapKit.Alternation copies = new SwapKit.Alternation(context, c.bundle())) {
                copies.swap();
                workload.awaitProgress("swapping the " + c.label());
            }
            workload.awaitProgress("swapping the " + c.label() + " back");
        }

        Bundle translator = SwapKit.active(context, "lguest-x86-jit");
        Bundle interpreter = BundleSwap.startSecondCopy(context, "lguest-x86-cpu");
        try {
            translator.stop();
            assertSame("the guest runs on the interpreter" + workload.deathNote(), interpreter,
                    BundleSwap.awaitCpuFrom(workload.guest, interpreter));
            workload.awaitProgress("moving to the interpreter");
        } finally {
            translator.start();
            interpreter.uninstall();
        }
        assertSame("the guest is back on the translator" + workload.deathNote(), translator,
                BundleSwap.awaitCpuFrom(workload.guest, translator));
        workload.awaitProgress("moving back to the translator");

        Bundle shadow = SwapKit.active(context, "lguest-pagetable");
        Bundle simple = BundleSwap.startSecondCopy(context, "lguest-pagetable-simple");
        try {
            shadow.stop();
            assertSame("the simple MMU provides the page tables", simple,
                    BundleSwap.providerOf(context, ShadowPageTables.class));
            workload.awaitProgress("moving to the simple MMU");
        } finally {
            shadow.start();
            simple.uninstall();
        }
        workload.awaitProgress("moving back to the shadow page tables");
        assertSame("the build's own MMU is back", shadow, BundleSwap.providerOf(context, ShadowPageTables.class));
    }

    /** Every component for its second copy in one stretch, and back in one stretch. */
    private void replaceAllAtOnce(Workload workload) throws Exception {
        List<SwapKit.Alternation> all = new ArrayList<>();
        try {
            for (SwapKit.Component c : SwapKit.COMPONENTS) {
                all.add(new SwapKit.Alternation(context, c.bundle()));
            }
            SwapKit.Alternation.swapAll(all);
            workload.awaitProgress("swapping every component at once");
            SwapKit.Alternation.swapAll(all);
            workload.awaitProgress("swapping every component back at once");
        } finally {
            for (SwapKit.Alternation a : all) {
                a.close();
            }
        }
    }

    /** Each component updated in place: its service gone for the gap, its old class loader thrown away. */
    private void updateEachInPlace(Workload workload) throws Exception {
        for (SwapKit.Component c : SwapKit.COMPONENTS) {
            Bundle bundle = SwapKit.active(context, c.bundle());
            ClassLoader before = bundle.adapt(BundleWiring.class).getClassLoader();
            SwapKit.updateInPlace(context, bundle);
            assertNotSame(c.label() + " runs a new revision", before,
                    SwapKit.active(context, c.bundle()).adapt(BundleWiring.class).getClassLoader());
            workload.awaitProgress("updating the " + c.label() + " in place");
        }
    }

    /** The guest's two jobs as the console shows them: checksum lines and the writer's marks. */
    private static final class Workload {
        private final GuestRun run;
        private final Guest guest;
        private long checksums;
        private long marks;
        /** How many steps the workload has made progress after (the start is the first). */
        int steps;

        Workload(GuestRun run, Guest guest) {
            this.run = run;
            this.guest = guest;
        }

        /** Waits until both jobs did more since the last step: one more checksum and one more mark. */
        void awaitProgress(String step) throws InterruptedException {
            assertFalse("the guest died " + step + deathNote() + "\n" + run.output(), guest.isDead());
            long wantChecksums = checksums + 1;
            long wantMarks = marks + 1;
            long deadline = System.nanoTime() + PROGRESS.toNanos();
            while (true) {
                List<String> lines = run.lines();
                checksums = lines.stream().filter(l -> l.startsWith(CHECKSUM_LINE)).count();
                marks = lines.stream().filter(l -> l.startsWith(WRITER_MARK)).count();
                if (checksums >= wantChecksums && marks >= wantMarks) {
                    steps++;
                    return;
                }
                boolean ended = run.session().await(Duration.ZERO).isPresent();
                if (ended || System.nanoTime() - deadline >= 0) {
                    throw new AssertionError("after " + step + " the workload "
                            + (ended ? "ended" + deathNote() : "made no progress in " + PROGRESS)
                            + " (" + checksums + " checksums, " + marks + " writer marks); the guest printed:\n"
                            + run.output());
                }
                Thread.sleep(20);
            }
        }

        String deathNote() {
            return guest.isDead() ? " (it died: " + guest.deadReason() + ")" : "";
        }
    }

    private static String lastLineStarting(String output, String prefix, String why) {
        List<String> found = output.lines().filter(l -> l.startsWith(prefix)).toList();
        assertFalse("no \"" + prefix + "\" line; " + why, found.isEmpty());
        return found.get(found.size() - 1);
    }

    /** The file must be 1..n, one a line, in order; the message names the first line that is not. */
    private static void assertLinesOneToN(int n, String file) {
        String expected = IntStream.rangeClosed(1, n).mapToObj(i -> i + "\n").collect(Collectors.joining());
        if (expected.equals(file)) {
            return;
        }
        String[] got = file.split("\n", -1);
        int line = 0;
        while (line < got.length && line < n && got[line].equals(String.valueOf(line + 1))) {
            line++;
        }
        throw new AssertionError("the file on the disk should hold 1.." + n + ", one a line; line " + (line + 1)
                + " is \"" + (line < got.length ? got[line] : "(end of file)") + "\" (" + got.length
                + " lines in all)");
    }
}
