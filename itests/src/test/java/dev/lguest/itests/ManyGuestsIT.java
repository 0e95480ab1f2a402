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
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * Sixteen guests in one framework at once, each on its own thread with its own
 * memory, CPU and shadow page tables, each computing a different checksum: every one
 * powers off with its own right answer, so nothing leaked between them.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ManyGuestsIT {
    private static final int GUESTS = 16;

    @Inject
    private GuestLauncher launcher;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    @Test
    public void sixteenGuestsRunAtOnce() throws Exception {
        List<Guests.Run> runs = new ArrayList<>();
        for (int i = 0; i < GUESTS; i++) {
            runs.add(Guests.bootDemo(launcher, List.of("spin=" + rounds(i))));
        }
        Set<Integer> guestIds = new HashSet<>();
        for (int i = 0; i < GUESTS; i++) {
            Guests.Run run = runs.get(i);
            GuestOutcome outcome = run.awaitEnd(Duration.ofMinutes(3));
            assertTrue("guest " + i + ": " + outcome.reason(), outcome.poweredOff());
            assertEquals(String.format("%s%nchecksum 0x%08x%n", Guests.HELLO, Guests.checksum(rounds(i))),
                    run.output());
            guestIds.add(run.session().guest().orElseThrow().id());
        }
        assertEquals("every guest is a guest of its own", GUESTS, guestIds.size());
    }

    private static int rounds(int guest) {
        return 100_000 + guest * 7919;
    }
}
