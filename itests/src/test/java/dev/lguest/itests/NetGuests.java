package dev.lguest.itests;

import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.exam.GuestRun;
import org.junit.Assume;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Linux guests with a network card, for the Net*IT tests: the shared 2.6.24 kernel
 * built with networking, and the shared busybox initramfs with our own init added
 * (src/test/resources/net/netinit, as /netinit). Linux unpacks an initrd that is
 * several gzip'ed cpio archives one after the other, so ours is the shared archive
 * followed by a small one of our own; the kernel command line picks /netinit and says
 * what it does (see the script).
 *
 * The kernel lives outside the project (../shared/linux-2.6.24 from the project's
 * root, or the directory LGUEST_LINUX_DIR names); where it is absent the tests skip
 * with one line.
 */
final class NetGuests {
    static final String NET_KERNEL = "vmlinux-2.6.24-lguest-net";
    static final String SHARED_INITRD = "initramfs-smoke.cpio.gz";

    private NetGuests() {
    }

    static Path linuxDirectory() {
        String dir = System.getenv("LGUEST_LINUX_DIR");
        return dir != null ? Path.of(dir) : Path.of("..", "..", "shared", "linux-2.6.24");
    }

    /** The net kernel, or the test is skipped with one line. */
    static Path kernelOrSkip() {
        Path kernel = linuxDirectory().resolve(NET_KERNEL);
        if (!Files.isRegularFile(kernel) || !Files.isRegularFile(linuxDirectory().resolve(SHARED_INITRD))) {
            System.err.println("skipped: no " + kernel + " (set LGUEST_LINUX_DIR to the prebuilt 2.6.24 guest)");
            Assume.assumeTrue("no " + kernel, false);
        }
        return kernel;
    }

    /** The initrd: the shared busybox archive, then ours with /netinit. */
    static Path initrd() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(Files.readAllBytes(linuxDirectory().resolve(SHARED_INITRD)));
        byte[] script;
        try (InputStream in = NetGuests.class.getResourceAsStream("/net/netinit")) {
            script = in.readAllBytes();
        }
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("netinit", script);
        out.writeBytes(Initrd.gzip(Initrd.newc(files)));
        Path file = Files.createTempFile("net-initrd", ".cpio.gz");
        Files.write(file, out.toByteArray());
        file.toFile().deleteOnExit();
        return file;
    }

    /** Boots a net guest of {@code megabytes} on {@code network} with these netinit variables. */
    static GuestRun boot(GuestLauncher launcher, Path initrd, int megabytes, String network, String... variables)
            throws Exception {
        return boot(launcher, false, initrd, megabytes, network, variables);
    }

    /** The same, with the Launcher's --verbose lines on the guest's console if {@code verbose}. */
    static GuestRun boot(GuestLauncher launcher, boolean verbose, Path initrd, int megabytes, String network,
                         String... variables) throws Exception {
        List<String> args = new ArrayList<>(List.of("rdinit=/netinit"));
        args.addAll(List.of(variables));
        return GuestRun.boot(launcher, new BootSpec(megabytes, kernelOrSkip(), null, initrd, null, args, verbose,
                List.of(network)));
    }

    /** The word after {@code key} in a line (NET-RECEIVED 1048576 <md5> -). */
    static String word(String line, int index) {
        String[] words = line.trim().split("\\s+");
        return index < words.length ? words[index] : "";
    }
}
