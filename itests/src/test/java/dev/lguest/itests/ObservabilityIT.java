package dev.lguest.itests;

import dev.lguest.api.events.ComponentSwapEvent;
import dev.lguest.api.events.GuestExitEvent;
import dev.lguest.api.events.GuestKilledEvent;
import dev.lguest.api.events.GuestStatisticsEvent;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.exam.ComponentSwap;
import dev.lguest.exam.GuestRun;
import dev.lguest.exam.LguestBuild;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.osgi.framework.BundleContext;

import javax.inject.Inject;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.TabularData;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * What a guest did, as JMX and JDK Flight Recorder show it: while a recording runs,
 * a demo guest that runs until it is stopped boots, its MBean (dev.lguest:type=Guest,id=N) is read through the
 * platform MBeanServer, lguest:swap replaces the shadow page tables under it, and the
 * guest is killed; its MBean goes, and the recording read back holds its exits, its
 * statistics, the swap (service, bundles, duration) and the kill with its reason.
 */
@RunWith(PaxExam.class)
public class ObservabilityIT {
    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return LguestBuild.defaultBuild().with("lguest-shell").withSpare("lguest-pagetable-simple").options();
    }

    @Test
    public void mbeansAndFlightRecorderShowWhatAGuestDid() throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        Path file = Files.createTempFile("lguest-observability", ".jfr");
        int id;
        try (Recording recording = new Recording()) {
            recording.enable(GuestExitEvent.NAME).withThreshold(Duration.ZERO);
            recording.enable(GuestKilledEvent.NAME);
            recording.enable(ComponentSwapEvent.NAME);
            recording.enable(GuestStatisticsEvent.NAME).withPeriod(Duration.ofMillis(100));
            recording.start();

            try (GuestRun run = GuestRun.bootDemo(launcher, "forever")) {
                ComponentSwap.awaitRunning(run, Duration.ofSeconds(60));
                run.awaitLine(GuestRun.DEMO_HELLO, Duration.ofSeconds(60));
                id = run.awaitGuest(Duration.ofSeconds(10)).id();

                ObjectName guestName = new ObjectName("dev.lguest:type=Guest,id=" + id);
                awaitRegistered(server, guestName, true);
                assertTrue((Long) server.getAttribute(guestName, "Instructions") > 0);
                assertTrue("16 MB of RAM and the device pages",
                        (Long) server.getAttribute(guestName, "MemoryBytes") > 16L << 20);
                TabularData exits = (TabularData) server.getAttribute(guestName, "ExitCounts");
                assertTrue("hypercall exits: " + exits,
                        (Long) exits.get(new Object[] {"HYPERCALL"}).get("value") > 0);
                TabularData hypercalls = (TabularData) server.getAttribute(guestName, "HypercallCounts");
                assertEquals(1L, hypercalls.get(new Object[] {"LGUEST_INIT"}).get("value"));
                assertTrue((Long) server.getAttribute(guestName, "Exits") > 0);
                ObjectName platform = new ObjectName("dev.lguest:type=Platform");
                assertTrue((Integer) server.getAttribute(platform, "LiveGuests") >= 1);

                String swapped = command("swap", "pagetable", ComponentSwap.locationOf("lguest-pagetable-simple"));
                assertTrue(swapped, swapped.startsWith("swapped pagetable: "));
                Thread.sleep(300); // a few statistics periods with the guest alive

                run.session().stop();
                GuestOutcome end = run.awaitEnd(Duration.ofSeconds(30));
                assertFalse(end.poweredOff());
                awaitRegistered(server, guestName, false);
            }
            recording.stop();
            recording.dump(file);
        }

        List<RecordedEvent> events = RecordingFile.readAllEvents(file);
        Files.deleteIfExists(file);
        Predicate<RecordedEvent> ofThisGuest = e -> e.hasField("guestId") && e.getInt("guestId") == id;
        assertTrue("a hypercall exit of guest " + id, events.stream().filter(ofThisGuest).anyMatch(
                e -> e.getEventType().getName().equals(GuestExitEvent.NAME)
                        && e.getString("reason").equals("HYPERCALL") && e.getInt("vector") >= 0));
        assertTrue("statistics of guest " + id, events.stream().filter(ofThisGuest).anyMatch(
                e -> e.getEventType().getName().equals(GuestStatisticsEvent.NAME) && e.getLong("instructions") > 0
                        && e.getString("hypercallCounts").contains("LGUEST_INIT=1")));
        RecordedEvent kill = events.stream().filter(ofThisGuest)
                .filter(e -> e.getEventType().getName().equals(GuestKilledEvent.NAME)).findFirst()
                .orElseThrow(() -> new AssertionError("no kill event of guest " + id));
        assertEquals("stopped by the Launcher", kill.getString("reason"));
        assertFalse(kill.getBoolean("poweredOff"));
        RecordedEvent swap = events.stream().filter(e -> e.getEventType().getName().equals(ComponentSwapEvent.NAME))
                .findFirst().orElseThrow(() -> new AssertionError("no swap event"));
        assertEquals(ShadowPageTables.class.getName(), swap.getString("service"));
        assertTrue(swap.getString("fromBundle"), swap.getString("fromBundle").contains("(lguest-pagetable "));
        assertTrue(swap.getString("toBundle"), swap.getString("toBundle").contains("(lguest-pagetable-simple "));
        assertTrue(swap.getBoolean("succeeded"));
        assertTrue(swap.getDuration().toNanos() > 0);
    }

    private static void awaitRegistered(MBeanServer server, ObjectName name, boolean registered)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (server.isRegistered(name) != registered) {
            if (System.nanoTime() - deadline >= 0) {
                throw new AssertionError(name + (registered ? " never registered" : " still registered"));
            }
            Thread.sleep(20);
        }
    }

    private String command(String name, Object... args) throws Exception {
        return LguestCommand.call(context, name, args);
    }
}
