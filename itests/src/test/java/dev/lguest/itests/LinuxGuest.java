package dev.lguest.itests;

import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.LauncherDevice;
import dev.lguest.exam.GuestRun;
import dev.lguest.exam.Initramfs;
import org.junit.Assume;
import org.osgi.framework.BundleContext;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The real Linux 2.6.24 lguest guest for the tests: where its kernel and busybox are,
 * and initramfs images built around a test's /init script. The kernel is not part of
 * the project: CI keeps a prebuilt one at ../shared/linux-2.6.24/ from the project's
 * root, guest/linux/build.sh makes one in guest/linux/build/, LGUEST_LINUX_DIR names
 * another folder, and where there is none the tests are skipped, saying so once.
 *
 * Each initramfs holds busybox with a link per applet the scripts use, the device
 * nodes a 2.6.24 kernel needs before anything can make them (it has no devtmpfs: the
 * console for /init's standard streams, null, zero, kmsg, tty, the virtio console
 * hvc0), the
 * empty mount points, the project's own test programs (guest/programs) and the
 * script as /init. /dev/vda is not there: virtio block takes a dynamic major, so a
 * script makes that node from /sys/block/vda/dev.
 */
final class LinuxGuest {
    static final String KERNEL = "vmlinux-2.6.24-lguest";
    /** Busybox as the shared folder names it (musl), and as guest/linux/build.sh does. */
    static final List<String> BUSYBOX = List.of("busybox-1.35.0-musl-i386", "busybox-i386");
    static final String ENVIRONMENT_VARIABLE = "LGUEST_LINUX_DIR";
    static final int MEMORY_MB = 64;

    /** The busybox applets the tests' scripts run, each a link in /bin. */
    private static final List<String> APPLETS = List.of(
            "sh", "ash", "cat", "echo", "printf", "test", "[", "true", "false", "sleep", "kill", "seq", "expr",
            "mount", "umount", "mknod", "mkdir", "rmdir", "rm", "ln", "ls", "cp", "mv", "touch", "stat", "df", "sync",
            "dd", "cmp", "md5sum", "head", "tail", "wc", "grep", "sed", "tr", "cut", "sort", "uniq", "awk", "od",
            "date", "uname", "ps", "poweroff", "reboot", "halt");

    private static final AtomicBoolean SAID_WHY_SKIPPED = new AtomicBoolean();

    private LinuxGuest() {
    }

    /**
     * The folder with the kernel and busybox: $LGUEST_LINUX_DIR, else ../shared/linux-2.6.24
     * from the project root, else guest/linux/build if build.sh has filled it.
     */
    static Path directory() {
        String chosen = System.getenv(ENVIRONMENT_VARIABLE);
        if (chosen != null && !chosen.isBlank()) {
            return Path.of(chosen);
        }
        Path shared = Path.of(System.getProperty("lguest.linux.dir", "../../shared/linux-2.6.24"));
        Path built = Path.of(System.getProperty("lguest.linux.built", "../guest/linux/build"));
        return !Files.isRegularFile(shared.resolve(KERNEL)) && Files.isRegularFile(built.resolve(KERNEL)) ? built : shared;
    }

    private static Path busybox() {
        return BUSYBOX.stream().map(directory()::resolve).filter(Files::isRegularFile).findFirst()
                .orElse(directory().resolve(BUSYBOX.get(0)));
    }

    /** Skips the calling test, with one line on the first skip, where there is no kernel to boot. */
    static void assumeKernel() {
        Path dir = directory().toAbsolutePath().normalize();
        boolean present = Files.isRegularFile(dir.resolve(KERNEL)) && Files.isRegularFile(busybox());
        String why = "no Linux guest: put " + KERNEL + " and " + BUSYBOX.get(0) + " in " + dir
                + " (guest/linux/build.sh makes them) or set " + ENVIRONMENT_VARIABLE + "; skipping the Linux tests";
        if (!present && SAID_WHY_SKIPPED.compareAndSet(false, true)) {
            System.out.println(why);
        }
        Assume.assumeTrue(why, present);
    }

    /** An initramfs running {@code init} (a busybox sh script) as /init, with these extra files (mode 0755). */
    static Initramfs initramfs(String init, Map<String, byte[]> extraFiles) throws IOException {
        Initramfs archive = new Initramfs();
        for (String dir : List.of("/bin", "/sbin", "/usr", "/usr/bin", "/usr/sbin", "/dev", "/proc", "/sys", "/mnt",
                "/root")) {
            archive.directory(dir, 0755);
        }
        archive.directory("/tmp", 01777);
        archive.file("/bin/busybox", 0755, Files.readAllBytes(busybox()));
        for (String applet : APPLETS) {
            archive.symlink("/bin/" + applet, "busybox");
        }
        archive.characterDevice("/dev/console", 0600, 5, 1)
                .characterDevice("/dev/null", 0666, 1, 3)
                .characterDevice("/dev/zero", 0666, 1, 5)
                .characterDevice("/dev/kmsg", 0600, 1, 11)
                .characterDevice("/dev/tty", 0666, 5, 0)
                .characterDevice("/dev/hvc0", 0600, 229, 0);
        extraFiles.forEach((path, data) -> archive.file(path, 0755, data));
        return archive.file("/init", 0755, init);
    }

    /** Waits while Declarative Services may still be activating the virtio console and block devices. */
    static void awaitDevices(BundleContext context) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (context.getServiceReferences(LauncherDevice.class, null).size() < 2) {
            if (System.nanoTime() - deadline >= 0) {
                throw new AssertionError("the virtio device services did not appear");
            }
            Thread.sleep(50);
        }
    }

    /** Boots the kernel with this initramfs, a disk (or null) and kernel arguments; the initramfs file is the caller's. */
    static GuestRun boot(GuestLauncher launcher, Path initramfsFile, Path disk, String... args) throws Exception {
        return boot(launcher, KERNEL, initramfsFile, disk, args);
    }

    /** {@link #boot(GuestLauncher, Path, Path, String...)} with another kernel file of the folder (the bzImage). */
    static GuestRun boot(GuestLauncher launcher, String kernel, Path initramfsFile, Path disk, String... args)
            throws Exception {
        return GuestRun.boot(launcher, new BootSpec(MEMORY_MB, directory().resolve(kernel), null, initramfsFile, disk,
                List.of(args), false));
    }
}
