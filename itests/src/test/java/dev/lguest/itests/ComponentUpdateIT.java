package dev.lguest.itests;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.exam.ComponentSwap;
import dev.lguest.exam.GuestRun;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.wiring.BundleWiring;

import javax.inject.Inject;
import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * Every component updated in place (Bundle.update, then a refresh of the framework)
 * under one running guest, twice over: unlike a second copy, an update leaves a gap
 * in which the component's service is gone, and the old revision's class loader is
 * thrown away by the refresh. The guest loops until stopped (loop=0), so every update
 * falls while it runs however fast the CPU is; after the updates and one more whole
 * pass it must have run as one pass without updates does (SwapKit.assertRanAsAlone:
 * the first pass's lines exactly, every later pass clean, every block pass's CRC, the
 * disk holding the latest patterns).
 *
 * What each gap asks of the others: a CPU factory's unbind parks every guest that
 * could use one of its CPUs before it returns (the refresh that follows invalidates
 * the old revision's classes); a retiring switcher hands its guests back at a boundary
 * and /dev/lguest waits parked for the next one; a retiring /dev/lguest answers ENODEV
 * and the Launcher waits for the new revision to adopt the guest; a device's unbind
 * parks the guest's device (suspended while its classes still load) and the new
 * revision adopts it, the guest's NOTIFYs meanwhile waiting for it; the traps,
 * hypercalls and switcher finish calls in flight with the collaborators they had.
 * Each component also has a test of its own, so a failure names it.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ComponentUpdateIT {
    private static final int ROUNDS = 2;
    private static final int BLOCK_PASSES = 2;
    private static final List<String> WORKLOAD = SwapKit.workloadArguments(0, BLOCK_PASSES);
    private static final List<String> ALONE = SwapKit.workloadArguments(1, BLOCK_PASSES);
    private static final Duration TIMEOUT = Duration.ofMinutes(3);

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    @Test
    public void everyComponentIsUpdatedInPlaceUnderARunningGuest() throws Exception {
        updateUnderRunningGuest(SwapKit.COMPONENTS);
    }

    @Test
    public void segmentsAreUpdatedInPlaceUnderARunningGuest() throws Exception {
        updateUnderRunningGuest(List.of(SwapKit.component("lguest-segments")));
    }

    @Test
    public void shadowPageTablesAreUpdatedInPlaceUnderARunningGuest() throws Exception {
        updateUnderRunningGuest(List.of(SwapKit.component("lguest-pagetable")));
    }

    @Test
    public void theCpuIsUpdatedInPlaceUnderARunningGuest() throws Exception {
        updateUnderRunningGuest(List.of(SwapKit.component("lguest-x86-jit")));
    }

    @Test
    public void trapsAreUpdatedInPlaceUnderARunningGuest() throws Exception {
        updateUnderRunningGuest(List.of(SwapKit.component("lguest-traps")));
    }

    @Test
    public void hostCoreIsUpdatedInPlaceUnderARunningGuest() throws Exception {
        updateUnderRunningGuest(List.of(SwapKit.component("lguest-hypercalls"), SwapKit.component("lguest-switcher"),
                SwapKit.component("lguest-device")));
    }

    /**
     * The console updated while a line is being typed at it: the first half is typed
     * before the update (the guest is not reading yet, so the old device holds it and
     * hands it over), the second after, to the new revision's keyboard thread. The
     * guest's console input test must read the whole line, in order, nothing lost.
     */
    @Test
    public void keystrokesTypedAroundAConsoleUpdateAllArrive() throws Exception {
        String line = "typed-across-a-console-update";
        int half = line.length() / 2;
        try (GuestRun run = GuestRun.boot(launcher, new BootSpec(32, null, Guests.image("testkernel.elf"), null, null,
                List.of("console-input=" + line), false))) {
            Guest guest = run.awaitGuest(Duration.ofSeconds(60));
            run.type(line.substring(0, half));
            Bundle console = SwapKit.active(context, "lguest-virtio-console");
            ClassLoader before = console.adapt(BundleWiring.class).getClassLoader();
            SwapKit.updateInPlace(context, console);
            assertNotSame("the console runs a new revision", before,
                    SwapKit.active(context, "lguest-virtio-console").adapt(BundleWiring.class).getClassLoader());
            assertFalse("the guest died in the update: " + guest.deadReason(), guest.isDead());
            run.type(line.substring(half) + "\n");
            GuestOutcome outcome = run.awaitEnd(TIMEOUT);
            GuestTestKernelIT.checkReport(outcome, run.output());
            assertTrue(run.output(), run.output().contains("# console input: read \"" + line + "\"\n"));
        }
    }

    /**
     * A fix that cannot start (here: a segments jar importing a package nobody
     * exports) is rolled back: the guest, parked through the gap, carries on with the
     * old implementation as if nothing happened, and the failure says why.
     */
    @Test
    public void anUpdateThatCannotStartIsRolledBackUnderARunningGuest() throws Exception {
        SwapKit.Finished expected = SwapKit.referenceRun(launcher, ALONE, TIMEOUT);
        byte[] broken = SwapKit.withExtraImport(DefaultBuild.bundleFile("lguest-segments"), MISSING_PACKAGE);

        SwapKit.Finished got;
        try (SwapKit.Run run = SwapKit.boot(launcher, WORKLOAD)) {
            Guest guest = run.awaitGuest();
            run.awaitOutput("ok 1 ", Duration.ofSeconds(60));
            Bundle segments = SwapKit.active(context, "lguest-segments");
            try {
                ComponentSwap.updateInPlace(context, SegmentManager.class, new ByteArrayInputStream(broken));
                fail("an update that cannot resolve went through");
            } catch (ComponentSwap.SwapFailed failure) {
                assertTrue("the failure says why: " + failure.getMessage(),
                        failure.getMessage().contains(MISSING_PACKAGE));
            }
            assertSame("the same bundle provides segments", segments, ComponentSwap.providerOf(context,
                    SegmentManager.class));
            assertEquals(Bundle.ACTIVE, segments.getState());
            assertFalse("the guest died in the failed update: " + guest.deadReason(), guest.isDead());
            got = run.stopAfterOneMorePass(TIMEOUT);
        }
        SwapKit.assertRanAsAlone("after the failed update", expected, got, BLOCK_PASSES);
    }

    private static final String MISSING_PACKAGE = "dev.lguest.no.such.package";

    private void updateUnderRunningGuest(List<SwapKit.Component> components) throws Exception {
        SwapKit.Finished expected = SwapKit.referenceRun(launcher, ALONE, TIMEOUT);

        SwapKit.Finished got;
        try (SwapKit.Run run = SwapKit.boot(launcher, WORKLOAD)) {
            Guest guest = run.awaitGuest();
            run.awaitOutput("ok 1 ", Duration.ofSeconds(60));
            for (int round = 0; round < ROUNDS; round++) {
                for (SwapKit.Component c : components) {
                    Bundle bundle = SwapKit.active(context, c.bundle());
                    ClassLoader before = bundle.adapt(org.osgi.framework.wiring.BundleWiring.class).getClassLoader();
                    SwapKit.updateInPlace(context, bundle);
                    Bundle after = SwapKit.active(context, c.bundle());
                    assertNotSame(c.label() + " runs a new revision",
                            before, after.adapt(org.osgi.framework.wiring.BundleWiring.class).getClassLoader());
                    assertFalse("the guest died updating " + c.label() + ": " + guest.deadReason() + "\n"
                            + run.output(), guest.isDead());
                }
            }
            got = run.stopAfterOneMorePass(TIMEOUT);
        }
        SwapKit.assertRanAsAlone("under updates", expected, got, BLOCK_PASSES);
    }
}
