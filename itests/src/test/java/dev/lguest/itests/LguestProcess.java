package dev.lguest.itests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertTrue;

/**
 * A build's executable jar run as its own process with the `lguest` command line, the
 * way ./lguest starts Java: for tests of what a user sees (a restore in a new process,
 * one line and exit status 1 for bad input). Standard input is {@code input} (or empty).
 */
final class LguestProcess {
    static final long TIMEOUT_SECONDS = 240;

    /** What one run printed, and how it exited. */
    record Result(int exitCode, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout:\n" + out + "\n--- stderr:\n" + err;
        }
    }

    private LguestProcess() {
    }

    static Path jar(String build) {
        Path jar = Path.of(System.getProperty("lguest.builds", "../launcher-bundle/target"), build + ".jar");
        assertTrue("the build exported " + jar, Files.isRegularFile(jar));
        return jar;
    }

    /** The command line that runs `lguest args...` on a build's jar, as ./lguest does. */
    static List<String> command(String build, String... args) {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                DefaultBuild.jvmOptionsArgument(), DefaultBuild.compilerDirectivesArgument(),
                "-jar", jar(build).toString()));
        command.addAll(List.of(args));
        return command;
    }

    static Result run(String build, String... args) throws IOException, InterruptedException {
        List<String> command = command(build, args);
        Path out = Files.createTempFile("lguest-out", ".txt");
        Path err = Files.createTempFile("lguest-err", ".txt");
        try {
            Process process = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
                throw new AssertionError(build + " did not finish in " + TIMEOUT_SECONDS + " s; it printed:\n"
                        + Files.readString(out, StandardCharsets.ISO_8859_1) + "\n--- stderr:\n"
                        + Files.readString(err, StandardCharsets.ISO_8859_1));
            }
            return new Result(process.exitValue(), Files.readString(out, StandardCharsets.ISO_8859_1),
                    Files.readString(err, StandardCharsets.ISO_8859_1));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /**
     * A build's jar started and left running (a migration's destination): its standard
     * input a pipe the test may type into, its output gathered as it comes.
     */
    static final class Background implements AutoCloseable {
        private final String build;
        private final Process process;
        private final Path out;
        private final Path err;

        private Background(String build, Process process, Path out, Path err) {
            this.build = build;
            this.process = process;
            this.out = out;
            this.err = err;
        }

        String out() throws IOException {
            return Files.readString(out, StandardCharsets.ISO_8859_1);
        }

        String err() throws IOException {
            return Files.readString(err, StandardCharsets.ISO_8859_1);
        }

        /** Types {@code text} on the process's standard input (the guest's console). */
        void type(String text) throws IOException {
            process.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
            process.getOutputStream().flush();
        }

        /** The first match of {@code pattern} (its group 1) in standard error, waiting for it. */
        String awaitErr(java.util.regex.Pattern pattern, java.time.Duration timeout) throws Exception {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                java.util.regex.Matcher m = pattern.matcher(err());
                if (m.find()) {
                    return m.groupCount() > 0 ? m.group(1) : m.group();
                }
                if (!process.isAlive() || System.nanoTime() - deadline > 0) {
                    throw new AssertionError(build + ": no " + pattern + " on standard error ("
                            + (process.isAlive() ? "timed out" : "exited " + process.exitValue()) + "): " + this);
                }
                Thread.sleep(20);
            }
        }

        /** Waits until standard output holds {@code text}. */
        void awaitOut(String text, java.time.Duration timeout) throws Exception {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!out().contains(text)) {
                if (!process.isAlive() || System.nanoTime() - deadline > 0) {
                    throw new AssertionError(build + ": no \"" + text + "\" on standard output ("
                            + (process.isAlive() ? "timed out" : "exited " + process.exitValue()) + "): " + this);
                }
                Thread.sleep(20);
            }
        }

        /** Waits for the process to end by itself; what it printed and how it exited. */
        Result finish(java.time.Duration timeout) throws Exception {
            if (!process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                throw new AssertionError(build + " did not finish in " + timeout + ": " + this);
            }
            return new Result(process.exitValue(), out(), err());
        }

        @Override
        public String toString() {
            try {
                return "\n--- stdout:\n" + out() + "\n--- stderr:\n" + err();
            } catch (IOException e) {
                return "(output unreadable: " + e + ")";
            }
        }

        @Override
        public void close() throws Exception {
            if (process.isAlive()) {
                process.destroyForcibly().waitFor();
            }
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Starts {@code build} with {@code args}; those that start with -D are the JVM's (system properties). */
    static Background start(String build, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                DefaultBuild.jvmOptionsArgument()));
        List.of(args).stream().filter(a -> a.startsWith("-D")).forEach(command::add);
        command.addAll(List.of("-jar", jar(build).toString()));
        List.of(args).stream().filter(a -> !a.startsWith("-D")).forEach(command::add);
        Path out = Files.createTempFile("lguest-out", ".txt");
        Path err = Files.createTempFile("lguest-err", ".txt");
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        return new Background(build, process, out, err);
    }
}
