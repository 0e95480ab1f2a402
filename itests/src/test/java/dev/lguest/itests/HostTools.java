package dev.lguest.itests;

import org.junit.Assume;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The host's tools the Linux tests check a guest's disk with (e2fsprogs: mkfs.ext2,
 * e2fsck, debugfs), found on the PATH or in the sbin folders; a test that needs one
 * that is missing is skipped with a line. Each runs to its end with its output kept.
 */
final class HostTools {
    record Result(int status, String output) {
    }

    private HostTools() {
    }

    static String find(String tool) {
        List<String> dirs = new ArrayList<>(Arrays.asList(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/sbin", "/usr/sbin"));
        Optional<Path> found = dirs.stream().filter(d -> !d.isEmpty()).map(d -> Path.of(d, tool))
                .filter(Files::isExecutable).findFirst();
        Assume.assumeTrue("no " + tool + " on this machine (e2fsprogs): skipping the ext2 tests", found.isPresent());
        return found.get().toString();
    }

    static Result run(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(false).start();
        process.getOutputStream().close();
        var stderr = new java.io.ByteArrayOutputStream();
        Thread drain = new Thread(() -> {
            try {
                process.getErrorStream().transferTo(stderr);
            } catch (IOException e) {
                // the process is gone; what it said so far is kept
            }
        });
        drain.start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish");
        }
        drain.join();
        if (command[0].endsWith("debugfs") || process.exitValue() == 0) {
            return new Result(process.exitValue(), out);
        }
        return new Result(process.exitValue(), out + stderr.toString(StandardCharsets.ISO_8859_1));
    }

    static String md5(byte[] data) throws Exception {
        byte[] digest = java.security.MessageDigest.getInstance("MD5").digest(data);
        StringBuilder hex = new StringBuilder();
        for (byte b : digest) {
            hex.append(String.format("%02x", b));
        }
        return hex.toString();
    }
}
