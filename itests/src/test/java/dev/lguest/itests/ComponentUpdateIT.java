package dev.lguest.itests;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.launcher.GuestLauncher;
import org.junit.Ignore;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

import javax.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertTrue;

/**
 * Every component updated in place (Bundle.update, then a refresh of the framework)
 * under one running guest, twice over: unlike a second copy, an update leaves a gap
 * in which the component's service is gone, and the old revision's class loader is
 * thrown away by the refresh. The guest must finish with the console and the disk of
 * a run without updates.
 *
 * Not yet for segments and shadow page tables: during their update's gap the trap
 * bundle finds no service and kills the guest ("trap delivery without segment
 * service": GuestTraps.enterHandler reads plain fields where the other components
 * wait on a ServiceSlot). Their tests are ignored until the traps bundle waits too.
 * Nor for the CPU: the switcher may still create a CPU from the old revision's factory
 * after the refresh has invalidated its class loader (NoClassDefFoundError from
 * SwitcherComponent.moveToFactory), and the guest dies. Nor for traps: the hypercall
 * bundle kills the guest in its gap ("hypercall needs the trap service, which is not
 * there"). The switcher, /dev/lguest and hypercalls are left out as well for now: a
 * run updating them in turn ended with "no switcher is available to run the guest"
 * (no switcher bound within 30 s of an update); not yet diagnosed.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ComponentUpdateIT {
    private static final int ROUNDS = 2;
    private static final List<String> WORKLOAD = SwapKit.workloadArguments(5, 2);
    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    /** Components whose update in place still kills a running guest, and why. */
    private static final Set<String> NOT_YET = Set.of("lguest-segments", "lguest-pagetable", "lguest-x86-cpu",
            "lguest-traps", "lguest-switcher", "lguest-device", "lguest-hypercalls");

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
        updateUnderRunningGuest(SwapKit.COMPONENTS.stream().filter(c -> !NOT_YET.contains(c.bundle())).toList());
    }

    @Test
    public void segmentsAreUpdatedInPlaceUnderARunningGuest() throws Exception {
        updateUnderRunningGuest(List.of(SwapKit.component("lguest-segments")));
    }

    @Test
    @Ignore("flaky under load: the console differs from a run without updates in one of five passes; not diagnosed yet")
    public void shadowPageTablesAreUpdatedInPlaceUnderARunningGuest() throws Exception {
        updateUnderRunningGuest(List.of(SwapKit.component("lguest-pagetable")));
    }

    @Test
    @Ignore("the switcher can create a CPU from the refreshed-away revision's factory (NoClassDefFoundError)")
    public void theCpuIsUpdatedInPlaceUnderARunningGuest() throws Exception {
        updateUnderRunningGuest(List.of(SwapKit.component("lguest-x86-cpu")));
    }

    @Test
    @Ignore("fails about one run in three: a trap delivery finds no segment service for 30 s during the update "
            + "(not the in-flight race fixed by GuestTraps.Retired; not diagnosed yet)")
    public void trapsAreUpdatedInPlaceUnderARunningGuest() throws Exception {
        updateUnderRunningGuest(List.of(SwapKit.component("lguest-traps")));
    }

    @Test
    @Ignore("an update of the switcher, /dev/lguest or hypercalls under a running guest can leave it without a switcher")
    public void hostCoreIsUpdatedInPlaceUnderARunningGuest() throws Exception {
        updateUnderRunningGuest(List.of(SwapKit.component("lguest-hypercalls"), SwapKit.component("lguest-switcher"),
                SwapKit.component("lguest-device")));
    }

    private void updateUnderRunningGuest(List<SwapKit.Component> components) throws Exception {
        SwapKit.Finished expected;
        try (SwapKit.Run run = SwapKit.boot(launcher, WORKLOAD)) {
            expected = run.finish(TIMEOUT);
        }
        assertTrue(expected.outcome().reason(), expected.outcome().poweredOff());

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
            assertTrue("the workload must outlast the updates; make it longer",
                    run.session().await(Duration.ZERO).isEmpty());
            got = run.finish(TIMEOUT);
        }
        assertTrue(got.outcome().reason() + "\n" + got.console(), got.outcome().poweredOff());
        assertEquals("the console, as without updates", expected.console(), got.console());
        assertArrayEquals("the disk, as without updates", expected.disk(), got.disk());
    }
}
