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
                DefaultBuild.jvmOptionsArgument(), "-jar", jar(build).toString()));
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
}
