package dev.lguest.itests;

import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

import javax.inject.Inject;
import java.time.Duration;
import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * The default build in Felix boots the demo guest through every layer (CPU, shadow
 * page tables, segments, traps, hypercalls, switcher, /dev/lguest, Launcher) and the
 * guest powers off after saying hello.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DemoGuestIT {
    @Inject
    private GuestLauncher launcher;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    @Test
    public void demoGuestSaysHelloAndPowersOff() throws Exception {
        Guests.Run run = Guests.bootDemo(launcher, List.of());
        GuestOutcome outcome = run.awaitEnd(Duration.ofSeconds(60));
        assertEquals("Power down", outcome.reason());
        assertTrue(outcome.poweredOff());
        assertEquals(Guests.HELLO + "\n", run.output());
    }

    @Test
    public void aGuestThatCrashesDiesWithItsReason() throws Exception {
        Guests.Run run = Guests.bootDemo(launcher, List.of("crash"));
        GuestOutcome outcome = run.awaitEnd(Duration.ofSeconds(60));
        assertEquals("demo guest crashed on request", outcome.reason());
        assertEquals(1, outcome.exitCode());
    }

    @Test
    public void aGuestWithAnUnhandledTrapIsKilled() throws Exception {
        Guests.Run run = Guests.bootDemo(launcher, List.of("ud2"));
        GuestOutcome outcome = run.awaitEnd(Duration.ofSeconds(60));
        assertTrue(outcome.reason(), outcome.reason().startsWith("unhandled trap 6 at "));
        assertEquals(1, outcome.exitCode());
    }

    @Test
    public void demoGuestComputesItsChecksum() throws Exception {
        Guests.Run run = Guests.bootDemo(launcher, List.of("spin=1000"));
        GuestOutcome outcome = run.awaitEnd(Duration.ofSeconds(60));
        assertTrue(outcome.reason(), outcome.poweredOff());
        assertEquals(String.format("%s%nchecksum 0x%08x%n", Guests.HELLO, Guests.checksum(1000)), run.output());
    }
}
