package dev.lguest.itests;

import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.exam.ComponentSwap;
import dev.lguest.exam.GuestRun;
import dev.lguest.exam.LguestBuild;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

import javax.inject.Inject;
import java.time.Duration;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * lguest's Gogo commands, called as Gogo calls them (through the command service's
 * public methods): lguest:list shows a running guest, lguest:swap replaces the shadow
 * page tables under it (the guest finishes with the right checksum), lguest:stats
 * names its hypercalls, a swap that cannot complete leaves the old provider and
 * says why, and lguest:save writes a snapshot of a running guest that restores.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ShellCommandsIT {
    private static final int ROUNDS = Guests.LONG_SPIN;

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return LguestBuild.defaultBuild().with("lguest-shell").withSpare("lguest-pagetable-simple").options();
    }

    @Test
    public void listSwapAndStatsOnARunningGuest() throws Exception {
        try (GuestRun run = GuestRun.bootDemo(launcher, "spin=" + ROUNDS)) {
            // Once it has said hello, the guest has a CPU and is into its checksum loop.
            run.awaitLine(GuestRun.DEMO_HELLO, Duration.ofSeconds(60));
            int id = run.awaitGuest(Duration.ofSeconds(10)).id();

            String list = command("list");
            assertTrue(list, list.lines().anyMatch(l -> l.matches(id + "\\s+(running|halted)\\s+translator\\s+\\d+\\s+.*")));

            Bundle old = ComponentSwap.providerOf(context, ShadowPageTables.class);
            String simple = ComponentSwap.locationOf("lguest-pagetable-simple");
            String swapped = command("swap", "pagetable", simple);
            assertTrue(swapped, swapped.startsWith("swapped pagetable: " + old.getBundleId() + " (lguest-pagetable "));
            assertEquals("lguest-pagetable-simple",
                    ComponentSwap.providerOf(context, ShadowPageTables.class).getSymbolicName());
            Guests.assertStillComputing(run.output(), "swap");

            GuestOutcome end = run.awaitEnd(Duration.ofMinutes(3));
            assertTrue(end.reason(), end.poweredOff());
            assertEquals(String.format("Hello from the guest%nchecksum 0x%08x%n", Guests.checksum(ROUNDS)), run.output());
        }
        String stats = command("stats");
        assertEquals("the guest is gone once it powered off", "no guests", stats);
    }

    @Test
    public void statsNameTheHypercallsOfALiveGuest() throws Exception {
        try (GuestRun run = GuestRun.bootDemo(launcher, "spin=" + ROUNDS)) {
            run.awaitLine(GuestRun.DEMO_HELLO, Duration.ofSeconds(60));
            String stats = command("stats");
            assertTrue(stats, stats.contains("LGUEST_INIT=1") && stats.contains("NOTIFY="));
            run.awaitEnd(Duration.ofMinutes(3));
        }
    }

    @Test
    public void aSwapThatCannotCompleteLeavesTheOldProvider() throws Exception {
        Bundle segments = ComponentSwap.providerOf(context, dev.lguest.api.segments.SegmentManager.class);
        Bundle cpu = ComponentSwap.providerOf(context, dev.lguest.api.cpu.X86CpuFactory.class);
        String answer = command("swap", "cpu", Long.toString(segments.getBundleId()));
        assertTrue(answer, answer.contains("does not provide X86CpuFactory") && answer.endsWith("stays"));
        assertEquals(cpu, ComponentSwap.providerOf(context, dev.lguest.api.cpu.X86CpuFactory.class));
        assertTrue(command("swap", "gpu", "1").startsWith("no component 'gpu'"));
        assertTrue(command("swap", "cpu", "99999").startsWith("no bundle 99999"));
    }

    @Test
    public void saveWritesASnapshotThatRestoresAndTheGuestRunsOn() throws Exception {
        java.nio.file.Path file = java.nio.file.Files.createTempFile("shell-save", ".snap");
        try (GuestRun run = GuestRun.bootDemo(launcher, "spin=" + ROUNDS)) {
            run.awaitLine(GuestRun.DEMO_HELLO, Duration.ofSeconds(60));
            int id = run.awaitGuest(Duration.ofSeconds(10)).id();
            String saved = command("save", id, file.toString());
            assertTrue(saved, saved.startsWith("saved guest " + id + " to " + file + ": "));
            assertTrue(command("save", 99999, file.toString()).startsWith("cannot save guest 99999: "));
            assertTrue(run.awaitEnd(Duration.ofMinutes(3)).poweredOff());
            ServiceReference<dev.lguest.api.snapshot.Snapshots> ref =
                    context.getServiceReference(dev.lguest.api.snapshot.Snapshots.class);
            try (GuestRun restored = GuestRun.restore(context.getService(ref), file)) {
                restored.awaitLine(String.format("0x%08x", Guests.checksum(ROUNDS)), Duration.ofMinutes(3));
                assertTrue(restored.awaitEnd(Duration.ofMinutes(3)).poweredOff());
            } finally {
                context.ungetService(ref);
            }
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
    }

    private String command(String name, Object... args) throws Exception {
        return LguestCommand.call(context, name, args);
    }
}
