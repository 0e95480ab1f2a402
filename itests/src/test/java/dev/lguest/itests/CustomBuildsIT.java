package dev.lguest.itests;

import org.junit.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * The custom builds as a user runs them: each executable jar the build exports from
 * launcher-bundle/*.bndrun, started as its own process with the `lguest` command line,
 * as ./lguest would with LGUEST_JAR set. A build missing a required component must
 * stop at once with one line naming it, not hang.
 */
public class CustomBuildsIT {
    /** Runs `lguest args...` on a build's jar, the way ./lguest starts Java. */
    private static LguestProcess.Result lguest(String build, String... args) throws IOException, InterruptedException {
        return LguestProcess.run(build, args);
    }

    private static Path guest(String name) {
        return Path.of(System.getProperty("lguest.guests", "../guest/target/classes/guests"), name);
    }

    @Test
    public void aBuildWithoutShadowPageTablesSaysSoInOneLineAndExits1() throws Exception {
        long start = System.nanoTime();
        LguestProcess.Result result = lguest("lguest-no-mmu");
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
        assertEquals(result.toString(), 1, result.exitCode());
        assertEquals(result.toString(), "lguest: this build has no shadow page tables"
                + " (no dev.lguest.api.mmu.ShadowPageTables service)\n", result.err());
        assertEquals(result.toString(), "", result.out());
        assertTrue("it gave up after its bounded wait, not a guest's timeout: " + seconds + " s", seconds < 30);
    }

    @Test
    public void theNoBlockBuildRefusesADiskInOneLine() throws Exception {
        LguestProcess.Result result = lguest("lguest-noblock", "--block=/nonexistent.img", "16",
                guest("demo-guest.elf").toString());
        assertEquals(result.toString(), 1, result.exitCode());
        assertEquals(result.toString(), "lguest: --block: this build has no virtio block device\n", result.err());
    }

    @Test
    public void theNoBlockBuildStillBootsTheDemoGuest() throws Exception {
        LguestProcess.Result result = lguest("lguest-noblock");
        assertEquals(result.toString(), 0, result.exitCode());
        assertEquals(result.toString(), Guests.HELLO + "\n", result.out());
    }

    @Test
    public void everyShippedBuildPassesTheGuestTestKernel() throws Exception {
        for (String build : List.of("lguest", "lguest-interpreter", "lguest-debug", "lguest-noblock", "lguest-simple-mmu")) {
            LguestProcess.Result result = lguest(build, "32", guest("testkernel.elf").toString());
            String what = build + ": " + result;
            assertEquals(what, 0, result.exitCode());
            TapReport tap = TapReport.parse(result.out());
            assertEquals(what, tap.plan, tap.tests.size());
            assertTrue(what, tap.plan >= 35);
            assertEquals(what, List.of(), tap.realFailures());
        }
    }

    @Test
    public void theSimpleMmuBuildRunsTheDemoGuestsChecksum() throws Exception {
        LguestProcess.Result result = lguest("lguest-simple-mmu", "16", guest("demo-guest.elf").toString(), "spin=100000");
        assertEquals(result.toString(), 0, result.exitCode());
        assertEquals(result.toString(), String.format("%s%nchecksum 0x%08x%n", Guests.HELLO, Guests.checksum(100000)),
                result.out());
    }

    @Test
    public void theDebugBuildBootsTheDemoGuest() throws Exception {
        LguestProcess.Result result = lguest("lguest-debug");
        assertEquals(result.toString(), 0, result.exitCode());
        assertEquals(result.toString(), Guests.HELLO + "\n", result.out());
    }
}
