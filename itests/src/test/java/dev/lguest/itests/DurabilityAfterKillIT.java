/*
 * "A write the guest has seen completed is on disk after a flush, so killing the
 * process after the guest's sync loses nothing": the exported launcher jar runs the
 * test kernel's block workload, which stops for good right after its flush; we kill
 * the JVM with SIGKILL there and read the disk file.
 */
package dev.lguest.itests;

import org.junit.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * The default build's jar (launcher-bundle/target/lguest.jar) as its own process, as
 * CustomBuildsIT runs the builds: `lguest --block=FILE 32 testkernel.elf
 * mode=blockcheck blockcheck=1 hold-after-flush`. The guest writes blockcheck pass 1's
 * pattern over the whole disk (which starts as a byte the pattern never is), flushes,
 * prints "# flushed" and halts. Then Process.destroyForcibly (SIGKILL: no shutdown
 * hooks, no close of the file) and every sector must hold the pattern.
 */
public class DurabilityAfterKillIT {
    private static final long TIMEOUT_SECONDS = 180;
    private static final int SECTORS = 4096;    // 2 MiB: 32 requests of 64 KiB

    @Test
    public void killedAfterTheGuestsFlushTheDiskHoldsEverything() throws Exception {
        Path jar = Path.of(System.getProperty("lguest.builds", "../launcher-bundle/target"), "lguest.jar");
        Path kernel = Path.of(System.getProperty("lguest.guests", "../guest/target/classes/guests"),
                "testkernel.elf");
        assertTrue("the build exported " + jar, Files.isRegularFile(jar));
        Path disk = Files.createTempFile("testkernel-durable", ".img");
        Path out = Files.createTempFile("lguest-out", ".txt");
        Path err = Files.createTempFile("lguest-err", ".txt");
        Process process = null;
        try {
            byte[] image = new byte[SECTORS * BlockPattern.SECTOR];
            Arrays.fill(image, (byte) 0x5a);
            Files.write(disk, image);
            List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    DefaultBuild.jvmOptionsArgument(), "-jar", jar.toString(),
                    "--block=" + disk, "32", kernel.toString(), "mode=blockcheck", "blockcheck=1", "hold-after-flush");
            process = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
            while (!Files.readString(out, StandardCharsets.ISO_8859_1).contains("# flushed\n")) {
                if (!process.isAlive() || System.nanoTime() - deadline > 0) {
                    throw new AssertionError("no \"# flushed\" (" + (process.isAlive() ? "timed out" : "exited "
                            + process.exitValue()) + "); stdout:\n" + Files.readString(out) + "\nstderr:\n"
                            + Files.readString(err));
                }
                Thread.sleep(20);
            }
            process.destroyForcibly();
            assertTrue("the process died", process.waitFor(30, TimeUnit.SECONDS));
            assertEquals("killed by SIGKILL", 128 + 9, process.exitValue());
            String printed = Files.readString(out, StandardCharsets.ISO_8859_1);
            assertEquals(printed, "# blockcheck: " + SECTORS + " sectors, 1 passes\n# flushed\n", printed);

            byte[] after = Files.readAllBytes(disk);
            assertEquals("the disk keeps its size", image.length, after.length);
            assertEquals("the first sector that does not hold pass 1's pattern (-1: none)", -1,
                    BlockPattern.firstBadSector(after, 1));
        } finally {
            if (process != null && process.isAlive()) {
                process.destroyForcibly().waitFor();
            }
            Files.deleteIfExists(disk);
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
