package dev.lguest.itests;

import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

import javax.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * The test kernel (guest/testkernel) boots on the default build the way a Linux
 * 2.6.24 guest does, tests every hypercall and every way a trap or interrupt reaches
 * a guest from the inside, prints the results as TAP and powers off. Here we check
 * that it got to the end, that its report is complete and whole, and that nothing
 * failed except what is marked TODO (a known CPU bug, listed with its reason).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class GuestTestKernelIT {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);
    private static final String IMAGE = "testkernel.elf";

    /**
     * The tests the kernel must report, by name: each hypercall (CRASH is the power-off
     * itself) and each trap and interrupt path.
     */
    static final List<String> EXPECTED = List.of(
            "LGUEST_INIT fills in lguest_data",
            "NOTIFY prints on the early console",
            "LOAD_GDT installs our segments at ring 1",
            "LOAD_TLS installs the TLS descriptors",
            "LOAD_IDT_ENTRY re-points a vector",
            "SET_STACK moves where ring-3 traps land",
            "NEW_PGTABLE switches page directories",
            "SET_PTE updates a mapping",
            "SET_PMD replaces a page table",
            "FLUSH_TLB(0) drops user mappings",
            "FLUSH_TLB(1) drops kernel mappings",
            "FLUSH_ASYNC runs the queued hypercalls",
            "async hypercall ring wraps around in order",
            "TS and #NM: lazy FPU switching",
            "#DE divide error is reflected",
            "#UD invalid opcode is reflected",
            "#BP int3 reaches the guest",
            "#GP is reflected with its error code",
            "in/out at ring 1 are skipped by the host",
            "#PF is reflected with cr2 in lguest_data",
            "demand paging of kernel pages",
            "int $0x80 from ring 3 is a direct trap",
            "demand paging of the ring-3 stack",
            "copy-on-write at ring 3",
            "ring 3 cannot read kernel pages",
            "ring 3 cannot make hypercalls",
            "SET_CLOCKEVENT: timer interrupt arrives",
            "timer interrupt stops a spinning guest",
            "timer interrupt arrives in ring 3",
            "irq_enabled masks and unmasks the timer",
            "blocked_interrupts masks the timer",
            "iret with IF clear keeps interrupts masked",
            "SET_CLOCKEVENT 0 stops the clock",
            "HALT sleeps until the timer wakes it",
            "no interrupt inside the noirq iret path");

    @Inject
    private GuestLauncher launcher;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    @Test
    public void selfTestPassesAndPowersOff() throws Exception {
        Guests.Run run = Guests.boot(launcher, Guests.image(IMAGE), 32, List.of());
        GuestOutcome outcome = run.awaitEnd(TIMEOUT);
        String output = run.output();
        assertEquals("the test kernel powers off; it printed:\n" + output, "Power down", outcome.reason());
        assertTrue(outcome.poweredOff());

        TapReport tap = TapReport.parse(output);
        assertTrue("the plan comes first:\n" + output, tap.planFirst);
        assertEquals("the plan counts every test line:\n" + output, tap.plan, tap.tests.size());
        assertEquals("tests are numbered 1..N in order",
                IntStream.rangeClosed(1, tap.plan).boxed().toList(),
                tap.tests.stream().map(TapReport.Line::number).toList());
        long passed = tap.tests.stream().filter(TapReport.Line::ok).count();
        assertEquals("summary line: passed", passed, tap.summaryPassed);
        assertEquals("summary line: failed", tap.tests.size() - passed, tap.summaryFailed);

        List<String> missing = new ArrayList<>(EXPECTED);
        missing.removeAll(tap.names());
        assertTrue("tests the kernel did not report: " + missing + "\n" + output, missing.isEmpty());

        List<TapReport.Line> failures = tap.realFailures();
        if (!failures.isEmpty()) {
            fail("failed in the guest:\n" + failures.stream().map(TapReport.Line::text)
                    .collect(Collectors.joining("\n")) + "\n\nwhole output:\n" + output);
        }
    }
}
