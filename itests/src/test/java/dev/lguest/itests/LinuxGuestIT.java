package dev.lguest.itests;

import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
import dev.lguest.exam.GuestRun;
import org.junit.Assume;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;

import javax.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * The real Linux 2.6.24 guest on the default build, with initramfs images built here
 * around busybox (see LinuxGuest; skipped where no kernel is around). Boots are shared
 * where natural: one /init runs several checks, each printing a "CHECK name value"
 * line, and each test asserts its own line with the guest's whole output in the
 * message. The boots: the shared smoke script; the processes script (forks, a
 * pipeline, sleep, kill and wait, /proc, /sys, tmpfs, SIGSEGV); a disk made here
 * (raw reads and writes of /dev/vda past the end of an ext2 file system made with
 * mkfs.ext2, which the guest then fills; e2fsck and debugfs check it afterwards); an
 * interactive shell typed at through the console; a reboot.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class LinuxGuestIT {
    private static final Duration BOOT = Duration.ofSeconds(120);
    private static final String SEGFAULT = "segfault at";

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

    // ---- the shared smoke script ----

    @Test
    public void theSmokeScriptRunsToTheEndWithoutASegfault() throws Exception {
        Path script = LinuxGuest.directory().resolve("initramfs-smoke.init");
        Assume.assumeTrue("no " + script + " to run", Files.isRegularFile(script));
        Path disk = Files.createTempFile("linux-smoke", ".img");
        try {
            Files.write(disk, new byte[64 * 1024]);
            Finished run = runToEnd(Files.readString(script), Map.of(), disk);
            String out = run.output;
            for (String marker : List.of("LGUEST-TEST: init started", "LGUEST-TEST: kernel Linux version 2.6.24",
                    "LGUEST-TEST: cpu model name", "LGUEST-TEST: sum 1..100 = 5050", "LGUEST-TEST: ls ok",
                    "LGUEST-TEST: vda ok", "LGUEST-TEST: done")) {
                assertTrue("no \"" + marker + "\" line; the guest printed:\n" + out,
                        out.lines().anyMatch(line -> line.startsWith(marker)));
            }
            assertEquals("segfault lines; the guest printed:\n" + out, 0, count(out, SEGFAULT));
            assertPoweredOff(run);
        } finally {
            Files.deleteIfExists(disk);
        }
    }

    // ---- the bzImage and the kernel command line ----

    @Test
    public void theBzImageBootsAndTheKernelCommandLineArrives() throws Exception {
        String bzImage = "bzImage-2.6.24-lguest";
        Assume.assumeTrue("no " + bzImage + " next to the vmlinux",
                Files.isRegularFile(LinuxGuest.directory().resolve(bzImage)));
        Finished run = runToEnd(bzImage, """
                #!/bin/sh
                export PATH=/bin
                mount -t proc proc /proc
                echo "CHECK cmdline $(cat /proc/cmdline)"
                echo "CHECK version $(cut -d' ' -f1-3 /proc/version)"
                poweroff -f
                """, Map.of(), null, "lguest.check=bz", "hello=world");
        assertTrue(run.why(), run.check("cmdline").contains("lguest.check=bz hello=world"));
        assertEquals(run.why(), "Linux version 2.6.24", run.check("version"));
        assertPoweredOff(run);
    }

    // ---- processes, signals, file systems: one boot ----

    private static final String PROCESSES = """
            #!/bin/sh
            export PATH=/bin
            say() { echo "CHECK $*"; }
            mount -t proc proc /proc
            mount -t sysfs sysfs /sys
            n=0; i=0
            while [ $i -lt 200 ]; do /bin/true && n=$((n + 1)); i=$((i + 1)); done
            say forks $n
            say pipeline $(seq 1 1000 | grep 7 | sort -r | wc -l)
            start=$(cut -d' ' -f1 /proc/uptime)
            sleep 1; status=$?
            end=$(cut -d' ' -f1 /proc/uptime)
            say sleep $status $(awk "BEGIN { print ($end - $start >= 1.0) ? \\"slept\\" : \\"short\\" }")
            before=$(date +%s); sleep 2; after=$(date +%s)
            say host-clock-sleep $((after - before))
            sleep 100 & child=$!
            kill $child; wait $child; status=$?
            kill -0 $child 2>/dev/null; say kill $status $?
            say proc $(grep -c '^MemTotal:' /proc/meminfo) $(cat /proc/sys/kernel/ostype) $(cat /proc/$$/stat | cut -d' ' -f1)
            say sys $(cat /sys/class/tty/hvc0/dev) $(ls /sys/devices/system/cpu | grep -c '^cpu0$')
            mount -t tmpfs -o size=1m tmpfs /mnt
            echo "kept in memory" > /mnt/file
            dd if=/dev/zero of=/mnt/big bs=1k count=2048 2>/dev/null; full=$?
            say tmpfs "$(cat /mnt/file)" $full $(stat -c %s /mnt/big)
            umount /mnt; say tmpfs-umount $?
            /bin/badaccess null; say segv-null $?
            /bin/badaccess kernel; say segv-kernel $?
            /bin/badaccess readonly; say segv-readonly $?
            /bin/badaccess unhandled; say segv-unhandled $?
            say done
            poweroff -f
            """;

    private static Finished processes;

    private Finished processes() throws Exception {
        if (processes == null) {
            processes = runToEnd(PROCESSES, Map.of("/bin/badaccess", Guests.image("badaccess.elf")), null);
        }
        return processes;
    }

    @Test
    public void sleepTakesItsTimeOnTheHostsClock() throws Exception {
        // The guest's date is the host's wall clock (lguest_data's time, written by the
        // host), in whole seconds: a 2 s sleep reads 2 or 3 on a right timer; the upper
        // bound only catches a timer gone far astray, not a loaded machine.
        long seconds = Long.parseLong(processes().check("host-clock-sleep"));
        assertTrue("sleep 2 took " + seconds + " s of host time; " + processes().why(),
                seconds >= 2 && seconds <= 20);
    }

    @Test
    public void twoHundredForkExecsOfTrueAllSucceed() throws Exception {
        assertEquals("200", processes().check("forks"));
    }

    @Test
    public void aPipelineOfFourProcessesCounts() throws Exception {
        long withASeven = IntStream.rangeClosed(1, 1000).filter(i -> String.valueOf(i).contains("7")).count();
        assertEquals(String.valueOf(withASeven), processes().check("pipeline"));
    }

    @Test
    public void sleepReturnsAfterASecondOfTheGuestsClock() throws Exception {
        assertEquals("0 slept", processes().check("sleep"));
    }

    @Test
    public void aKilledChildIsReapedWithSigterm() throws Exception {
        // 143 = 128 + SIGTERM from wait; then kill -0 finds no such process (1).
        assertEquals("143 1", processes().check("kill"));
    }

    @Test
    public void procShowsTheKernelAndTheShell() throws Exception {
        // /init is PID 1: /proc/$$/stat starts with 1.
        assertEquals("1 Linux 1", processes().check("proc"));
    }

    @Test
    public void sysShowsTheConsoleAndTheCpu() throws Exception {
        assertEquals("229:0 1", processes().check("sys"));
    }

    @Test
    public void tmpfsHoldsFilesAndStopsAtItsSize() throws Exception {
        Finished run = processes();
        // A 1 MB tmpfs takes 1036288 bytes of zeroes after its one-page file (dd fails: 1):
        // the same figure as the kernel's on QEMU, since 2.6.24's tmpfs counts the pages of
        // its own block index against size= too.
        assertEquals("kept in memory 1 1036288", run.check("tmpfs"));
        assertEquals("0", run.check("tmpfs-umount"));
    }

    @Test
    public void aBadAccessFromRing3IsSigsegvWithItsAddress() throws Exception {
        Finished run = processes();
        List<String> caught = run.output.lines().filter(line -> line.startsWith("badaccess:")).toList();
        assertEquals(run.why(), 3, caught.size());
        assertEquals(run.why(), "badaccess: SIGSEGV at 0x00000010 code 1", caught.get(0));
        assertEquals(run.why(), "badaccess: SIGSEGV at 0xc0100000 code 1", caught.get(1));
        assertTrue(run.why(), caught.get(2).matches("badaccess: SIGSEGV at 0x0804[0-9a-f]{4} code 2"));
        assertEquals("0", run.check("segv-null"));
        assertEquals("0", run.check("segv-kernel"));
        assertEquals("0", run.check("segv-readonly"));
        // Unhandled, the kernel kills it (128 + SIGSEGV) and logs its one segfault line.
        assertEquals("139", run.check("segv-unhandled"));
        assertEquals(run.why(), 1, count(run.output, SEGFAULT));
        assertTrue(run.why(), run.output.contains("badaccess[") && run.output.contains("segfault at 00000010 "));
        assertPoweredOff(run);
    }

    // ---- the disk: raw /dev/vda and ext2 ----

    /** The ext2 file system's size in 1 KB blocks; the raw area follows it. */
    private static final int FS_KB = 8192;
    private static final int RAW_KB = 1024;
    private static final int HOST_PATTERN_KB = 64;
    /** Where the guest writes its raw data: past what the host wrote in the raw area. */
    private static final int GUEST_WRITE_KB = FS_KB + HOST_PATTERN_KB;
    private static final int SEQ = 20000;

    private static final String DISK = """
            #!/bin/sh
            export PATH=/bin
            say() { echo "CHECK $*"; }
            mount -t proc proc /proc
            mount -t sysfs sysfs /sys
            vda=$(cat /sys/block/vda/dev)
            mknod /dev/vda b ${vda%%:*} ${vda##*:}
            say raw-read $(dd if=/dev/vda bs=1024 skip=FS_KB count=HOST_PATTERN_KB 2>/dev/null | md5sum | cut -d' ' -f1)
            seq 1 SEQ > /tmp/pattern
            dd if=/tmp/pattern of=/dev/vda bs=1024 seek=GUEST_WRITE_KB conv=notrunc,fsync 2>/dev/null; say raw-write $?
            echo 3 > /proc/sys/vm/drop_caches
            dd if=/dev/vda bs=1024 skip=GUEST_WRITE_KB count=200 2>/dev/null | head -c $(wc -c < /tmp/pattern) | cmp - /tmp/pattern
            say raw-verify $?
            mount -t ext2 /dev/vda /mnt; say mount $?
            echo "written by the guest" > /mnt/hello.txt
            mkdir /mnt/dir && seq 1 5000 > /mnt/dir/numbers.txt
            ln -s hello.txt /mnt/link
            say ext2-files $(cat /mnt/hello.txt | wc -c) $(wc -l < /mnt/dir/numbers.txt)
            sync; say sync $?
            umount /mnt; say umount $?
            poweroff -f
            """
            .replace("HOST_PATTERN_KB", String.valueOf(HOST_PATTERN_KB)).replace("GUEST_WRITE_KB",
                    String.valueOf(GUEST_WRITE_KB)).replace("FS_KB", String.valueOf(FS_KB))
            .replace("SEQ", String.valueOf(SEQ));

    private record DiskRun(Finished run, byte[] hostPattern, byte[] image, Path file) {
    }

    private static DiskRun disk;

    private DiskRun disk() throws Exception {
        if (disk == null) {
            String mkfs = HostTools.find("mkfs.ext2");
            Path image = Files.createTempFile("linux-ext2", ".img");
            image.toFile().deleteOnExit();
            HostTools.Result made = HostTools.run(mkfs, "-q", "-F", "-b", "1024", image.toString(),
                    String.valueOf(FS_KB));
            assertEquals("mkfs.ext2: " + made.output(), 0, made.status());
            byte[] pattern = new byte[HOST_PATTERN_KB * 1024];
            new java.util.Random(2_624).nextBytes(pattern);
            try (var file = new java.io.RandomAccessFile(image.toFile(), "rw")) {
                file.setLength((long) (FS_KB + RAW_KB) * 1024);
                file.seek((long) FS_KB * 1024);
                file.write(pattern);
            }
            Finished run = runToEnd(DISK, Map.of(), image);
            disk = new DiskRun(run, pattern, Files.readAllBytes(image), image);
        }
        return disk;
    }

    @Test
    public void theGuestReadsWhatTheHostWroteOnTheRawDisk() throws Exception {
        DiskRun d = disk();
        assertEquals(HostTools.md5(d.hostPattern), d.run.check("raw-read"));
    }

    @Test
    public void whatTheGuestWritesOnTheRawDiskReadsBackAndReachesTheFile() throws Exception {
        DiskRun d = disk();
        assertEquals("0", d.run.check("raw-write"));
        assertEquals("0", d.run.check("raw-verify"));
        byte[] expected = seq(SEQ).getBytes(StandardCharsets.US_ASCII);
        int at = GUEST_WRITE_KB * 1024;
        assertArrayEquals("the disk file holds what the guest wrote at " + GUEST_WRITE_KB + " KB", expected,
                Arrays.copyOfRange(d.image, at, at + expected.length));
        assertEquals("the disk file keeps its size", (FS_KB + RAW_KB) * 1024, d.image.length);
    }

    @Test
    public void anExt2ImageMadeOnTheHostTakesFilesAndComesBackClean() throws Exception {
        DiskRun d = disk();
        assertEquals("0", d.run.check("mount"));
        assertEquals("21 5000", d.run.check("ext2-files"));
        assertEquals("0", d.run.check("sync"));
        assertEquals("0", d.run.check("umount"));
        assertPoweredOff(d.run);

        HostTools.Result fsck = HostTools.run(HostTools.find("e2fsck"), "-f", "-n", d.file.toString());
        assertEquals("e2fsck -fn found problems:\n" + fsck.output(), 0, fsck.status());
        String debugfs = HostTools.find("debugfs");
        assertEquals("written by the guest\n", HostTools.run(debugfs, "-R", "cat /hello.txt", d.file.toString()).output());
        assertEquals(seq(5000), HostTools.run(debugfs, "-R", "cat /dir/numbers.txt", d.file.toString()).output());
        String link = HostTools.run(debugfs, "-R", "stat /link", d.file.toString()).output();
        assertTrue(link, link.contains("Fast link dest: \"hello.txt\""));
        // "ls -p" prints /inode/mode/uid/gid/name/size/ per entry.
        List<String> names = HostTools.run(debugfs, "-R", "ls -p /", d.file.toString()).output().lines()
                .filter(line -> line.startsWith("/")).map(line -> line.split("/")[5]).sorted().toList();
        assertEquals(List.of(".", "..", "dir", "hello.txt", "link", "lost+found"), names);
    }

    // ---- an interactive shell on the console ----

    @Test
    public void aShellTypedAtThroughTheConsoleRunsCommandsAndPowersOff() throws Exception {
        Path initrd = Files.createTempFile("linux-shell", ".cpio.gz");
        try {
            LinuxGuest.initramfs("#!/bin/sh\nexec /bin/sh\n", Map.of()).writeGzip(initrd);
            try (GuestRun run = LinuxGuest.boot(launcher, initrd, null)) {
                run.type("echo answer-$((6 * 7))\n");
                run.awaitLine(line -> line.strip().equals("answer-42"), "answer-42", BOOT);
                run.type("mount -t proc proc /proc && cat /proc/version\n");
                run.awaitLine("Linux version 2.6.24", BOOT);
                run.type("seq 1 10 | grep 1 | wc -l | sed 's/^/lines-/'\n");
                run.awaitLine(line -> line.strip().equals("lines-2"), "lines-2", BOOT);
                run.type("poweroff -f\n");
                GuestOutcome end = run.awaitEnd(BOOT);
                assertTrue(end.reason() + "; the guest printed:\n" + run.output(), end.poweredOff());
                assertEquals("segfault lines:\n" + run.output(), 0, count(run.output(), SEGFAULT));
            }
        } finally {
            Files.deleteIfExists(initrd);
        }
    }

    // ---- reboot ----

    /**
     * What 2.6.24 does on a guest reboot: its lguest guest code sets no restart hook
     * (only pm_power_off) and its Launcher (Documentation/lguest/lguest.c) knows no
     * restart, so the kernel's native restart runs: keyboard-controller resets (OUTs
     * the host skips), then "load_idt(&no_idt); int3" for a triple fault. lguest's
     * load_idt loads no entries from an empty table, so the int3 reaches the guest's own
     * handler: an Oops kills the process that asked for the reboot, and the guest runs on.
     */
    @Test
    public void rebootKillsTheCallerWithAnOopsAndTheGuestRunsOn() throws Exception {
        Finished run = runToEnd("""
                #!/bin/sh
                export PATH=/bin
                echo "CHECK before-reboot"
                reboot -f
                echo "CHECK reboot $?"
                poweroff -f
                """, Map.of(), null);
        assertTrue(run.why(), run.output.contains("Restarting system."));
        assertTrue(run.why(), run.output.contains("int3: 0000"));
        assertEquals("139", run.check("reboot"));
        assertEquals(run.why(), 1, count(run.output, "Linux version 2.6.24"));
        assertPoweredOff(run);
    }

    // ---- helpers ----

    /** A guest run to its end: how it ended and everything it printed. */
    private record Finished(GuestOutcome outcome, String output) {
        /** The value of this run's "CHECK name value" line. */
        String check(String name) {
            String prefix = "CHECK " + name;
            List<String> lines = output.lines().filter(line -> line.equals(prefix) || line.startsWith(prefix + " "))
                    .toList();
            assertEquals("one \"" + prefix + "\" line; the guest printed:\n" + output, 1, lines.size());
            return lines.get(0).substring(prefix.length()).trim();
        }

        String why() {
            return "the guest (" + outcome.reason() + ") printed:\n" + output;
        }
    }

    private Finished runToEnd(String init, Map<String, byte[]> extraFiles, Path disk) throws Exception {
        return runToEnd(LinuxGuest.KERNEL, init, extraFiles, disk);
    }

    private Finished runToEnd(String kernel, String init, Map<String, byte[]> extraFiles, Path disk,
                              String... args) throws Exception {
        Path initrd = Files.createTempFile("linux-initramfs", ".cpio.gz");
        try {
            LinuxGuest.initramfs(init, extraFiles).writeGzip(initrd);
            try (GuestRun run = LinuxGuest.boot(launcher, kernel, initrd, disk, args)) {
                GuestOutcome outcome = run.awaitEnd(BOOT);
                return new Finished(outcome, run.output());
            }
        } finally {
            Files.deleteIfExists(initrd);
        }
    }

    private static void assertPoweredOff(Finished run) {
        assertTrue(run.why(), run.outcome.poweredOff());
    }

    private static long count(String output, String text) {
        return output.lines().filter(line -> line.contains(text)).count();
    }

    private static String seq(int n) {
        return IntStream.rangeClosed(1, n).mapToObj(i -> i + "\n").collect(Collectors.joining());
    }
}
