package dev.lguest.itests;

import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestSession;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The swap pause benchmark's guest when it is the real Linux guest: Linux boots with
 * an initramfs whose /init is the clockprobe program (guest/programs/clockprobe.c), the
 * only process, reporting every jump of its clock over the threshold in the test
 * kernel's "# pause S N G" format, so PauseProbe reads both.
 *
 * Linux's clock is not the host's: an lguest guest's clock runs on the host's wall
 * clock (the time written into lguest_data), but Linux starts it from whole seconds,
 * so it is the host's plus a constant below a second. The probe prints "# clock S N"
 * every 50 ms; {@link #offset} watches the console for a while, notes when each such
 * line arrives, and takes the smallest difference (arrival minus the guest's stamp)
 * as the constant: too large by the console's quickest delivery, which is small beside
 * a swap's window.
 */
final class LinuxPauseProbe {
    private static final Pattern CLOCK = Pattern.compile("^# clock (\\d+) (\\d+)$", Pattern.MULTILINE);

    private LinuxPauseProbe() {
    }

    /** Boots Linux running the probe with this threshold; the console is captured, the disk is an empty file. */
    static SwapKit.Run boot(GuestLauncher launcher, long thresholdMicros) throws Exception {
        LinuxGuest.assumeKernel();
        Path initrd = Files.createTempFile("linux-pauseprobe", ".cpio.gz");
        initrd.toFile().deleteOnExit();
        LinuxGuest.initramfs("#!/bin/sh\nexec /bin/clockprobe " + thresholdMicros + "\n",
                Map.of("/bin/clockprobe", Guests.image("clockprobe.elf"))).writeGzip(initrd);
        Path disk = Files.createTempFile("linux-pauseprobe", ".img");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        GuestSession session = launcher.boot(new BootSpec(LinuxGuest.MEMORY_MB,
                LinuxGuest.directory().resolve(LinuxGuest.KERNEL), null, initrd, disk, List.of(), false), console);
        return new SwapKit.Run(session, console, disk);
    }

    /**
     * Host epoch nanoseconds minus the guest's, from the "# clock" lines that arrive in
     * the next {@code millis} ms (the console is looked at every millisecond).
     */
    static long offset(SwapKit.Run run, long millis) throws InterruptedException {
        Set<String> seen = new HashSet<>();
        long best = Long.MAX_VALUE;
        long end = System.nanoTime() + millis * 1_000_000;
        while (System.nanoTime() - end < 0) {
            long now = PauseProbe.now();
            Matcher m = CLOCK.matcher(run.output());
            while (m.find()) {
                if (seen.add(m.group())) {
                    long stamp = Long.parseLong(m.group(1)) * 1_000_000_000L + Long.parseLong(m.group(2));
                    best = Math.min(best, now - stamp);
                }
            }
            Thread.sleep(1);
        }
        if (best == Long.MAX_VALUE) {
            throw new AssertionError("the probe printed no \"# clock\" line in " + millis + " ms: " + run.output());
        }
        return best;
    }

    /** The guest's gaps moved onto the host's clock. */
    static List<PauseProbe.Gap> onHostClock(List<PauseProbe.Gap> gaps, long offset) {
        return gaps.stream().map(g -> new PauseProbe.Gap(g.end() + offset, g.nanos())).toList();
    }
}
