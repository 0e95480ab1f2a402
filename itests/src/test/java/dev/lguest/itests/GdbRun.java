package dev.lguest.itests;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The default build's jar started as `lguest --gdb=PORT [--gdb-wait] ...` in a process
 * of its own, as a user starts it, for the gdb sessions of GdbSessionIT. Also the
 * things those tests need: a free port, Debian's gdb in batch mode, the real Linux
 * guest's files if this machine has them.
 */
final class GdbRun implements AutoCloseable {
    static final long TIMEOUT_SECONDS = 300;

    final int port;
    private final Process process;
    private final Path out;
    private final Path err;

    private GdbRun(int port, Process process, Path out, Path err) {
        this.port = port;
        this.process = process;
        this.out = out;
        this.err = err;
    }

    /** Starts the guest with a stub on a free port and waits until the stub listens. */
    static GdbRun start(boolean wait, String... args) throws IOException, InterruptedException {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        Path jar = Path.of(System.getProperty("lguest.builds", "../launcher-bundle/target"), "lguest.jar");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                DefaultBuild.jvmOptionsArgument(), "-jar", jar.toString(), "--gdb=" + port));
        if (wait) {
            command.add("--gdb-wait");
        }
        command.addAll(List.of(args));
        Path out = Files.createTempFile("lguest-gdb-out", ".txt");
        Path err = Files.createTempFile("lguest-gdb-err", ".txt");
        Process process = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        GdbRun run = new GdbRun(port, process, out, err);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(err, StandardCharsets.ISO_8859_1).contains("gdb stub on")) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                String said = run.output();
                run.close();
                throw new AssertionError("the stub did not come up:\n" + said);
            }
            Thread.sleep(50);
        }
        return run;
    }

    /** Runs gdb in batch mode on {@code symbols} with the commands, connected to this guest; its output. */
    String gdb(Path symbols, String... commands) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("gdb", "-batch", "-nx", "-ex", "set confirm off",
                "-ex", "set pagination off", "-ex", "target remote 127.0.0.1:" + port));
        for (String c : commands) {
            command.add("-ex");
            command.add(c);
        }
        command.add(symbols.toString());
        Path transcript = Files.createTempFile("gdb", ".txt");
        try {
            Process gdb = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(transcript.toFile()).start();
            if (!gdb.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                gdb.destroyForcibly().waitFor();
                throw new AssertionError("gdb did not finish; it printed:\n"
                        + Files.readString(transcript, StandardCharsets.ISO_8859_1) + "\nthe guest:\n" + output());
            }
            return Files.readString(transcript, StandardCharsets.ISO_8859_1);
        } finally {
            Files.deleteIfExists(transcript);
        }
    }

    /** Waits for the Launcher to exit; its status. */
    int awaitExit() throws InterruptedException {
        if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            throw new AssertionError("the guest did not end");
        }
        return process.exitValue();
    }

    String output() throws IOException {
        return "--- stdout:\n" + Files.readString(out, StandardCharsets.ISO_8859_1) + "\n--- stderr:\n"
                + Files.readString(err, StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly().waitFor();
        }
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
    }

    /** Whether gdb can be run here. */
    static boolean haveGdb() {
        try {
            Process p = new ProcessBuilder("gdb", "--version").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /** The prebuilt Linux 2.6.24 guest's directory, where LinuxGuestIT finds it. */
    static Path linuxDirectory() {
        return LinuxGuest.directory();
    }
}
