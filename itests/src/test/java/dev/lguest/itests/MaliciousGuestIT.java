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
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * The malicious guest suite. Everything a guest writes is hostile, and lguest checks
 * all of it: hypercall arguments, page tables, descriptors, lguest_data (and the
 * Launcher checks the virtio rings). For each of those checks the hostile guest
 * (guest/hostile) breaks the rule on purpose while a demo guest computes a checksum
 * in the same framework. The hostile guest must die (exit code 1) with a reason that
 * names what it did wrong, never a Java exception; the demo guest must power off
 * with the right checksum, untouched.
 *
 * A few attacks are not deaths: a descriptor asking for ring 0 is moved to ring 1, as
 * lguest does, and the guest carries on at ring 1 and says so on its console.
 *
 * The table below is the suite; each row names the lguest check it exercises.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class MaliciousGuestIT {
    private static final String IMAGE = "hostile.elf";
    private static final int MEMORY_MB = 16;
    private static final Duration HOSTILE_TIMEOUT = Duration.ofMinutes(1);
    private static final Duration DEMO_TIMEOUT = Duration.ofMinutes(2);
    /** The demo guest's checksum rounds before it loops on until stopped (see HostileRun). */
    private static final int SPIN = 1_000_000;

    /** What a reason must never look like: a Java exception or a stack trace. */
    private static final Pattern JAVA_TEXT = Pattern.compile(
            "Exception|Error\\b|java\\.|javax\\.|dev\\.lguest\\.|\\tat |\\bat [a-z]+\\.[a-z]");

    static final List<Attack> ATTACKS = List.of(
            // hypercalls.c
            Attack.killed("hypercall-before-init", "initialize(): hypercall before INIT",
                    "hypercall 17 before LGUEST_INIT"),
            Attack.killed("unknown-hcall-11", "do_hcall(): bad hypercall", "Bad hypercall 11"),
            Attack.killed("unknown-hcall-12", "do_hcall(): bad hypercall", "Bad hypercall 12"),
            Attack.killed("unknown-hcall-13", "do_hcall(): bad hypercall", "Bad hypercall 13"),
            Attack.killed("unknown-hcall-18", "do_hcall(): bad hypercall", "Bad hypercall 18"),
            Attack.killed("unknown-hcall-99", "do_hcall(): bad hypercall", "Bad hypercall 99"),
            Attack.killed("unknown-hcall-4294967295", "do_hcall(): bad hypercall", "Bad hypercall 4294967295"),
            Attack.killed("init-outside", "lguest_arch_init_hypercalls(): lguest_address_ok",
                    "bad guest page 0xe0000000"),
            Attack.killed("init-overflow", "lguest_address_ok(): addr + len wraps",
                    "bad guest page 0xfffffff0"),
            Attack.killed("init-at-zero", "host: 0 means no lguest_data",
                    "lguest_data at guest-physical address 0"),
            Attack.killed("init-twice", "do_hcall(): LGUEST_INIT again", "already have lguest_data"),
            Attack.killed("bad-kernel-address", "page_table_guest_data_init(): kernel address in the switcher",
                    "bad kernel address 0xffc00000"),
            Attack.killed("bad-syscall-vector", "check_syscall_vector()", "bad syscall vector"),
            Attack.killed("crash-outside", "do_hcall(CRASH): __lgread", "bad read address 0xe0000000"),
            Attack.killed("async-unknown", "do_async_hcalls(): bad hypercall in the ring", "Bad hypercall 99"),
            Attack.killed("async-init", "do_async_hcalls(): LGUEST_INIT in the ring", "already have lguest_data"),
            // the Launcher
            Attack.killed("notify-beyond-devices", "Launcher: NOTIFY beyond the device pages", "bad NOTIFY 0xe0000000"),
            Attack.killed("virtio-buffer-outside", "Launcher: a virtqueue buffer outside guest memory",
                    "descriptor 0 points outside guest memory"),
            Attack.killed("virtio-descriptor-loop", "Launcher: a descriptor chain that loops",
                    "longer than the ring: a loop"),
            // segments.c
            Attack.killed("gdt-too-many", "load_guest_gdt(): too many entries", "too many gdt entries 33"),
            Attack.killed("gdt-outside", "load_guest_gdt(): __lgread", "bad read address 0xe0000000"),
            Attack.killed("tls-outside", "guest_load_tls(): __lgread", "bad read address 0xe0000000"),
            Attack.fixedUp("gdt-ring0", "fixup_gdt_table(): DPL 0 becomes GUEST_PL",
                    "cs 0x000000a1 ds 0x000000a8 cpl 0x00000001"),
            Attack.killed("gdt-call-gate", "host: system descriptors are not present", "unhandled trap 13"),
            Attack.killed("gdt-host-slot", "ignored_gdt(): the host's own slots", "unhandled trap 13"),
            // interrupts_and_traps.c
            Attack.killed("idt-vector-256", "load_guest_idt_entry(): vector beyond the IDT",
                    "Setting idt entry 256"),
            Attack.killed("idt-bad-type", "set_trap(): interrupt and trap gates only", "bad IDT type 5"),
            Attack.killed("stack-bad-segment", "guest_set_stack(): segment not at GUEST_PL",
                    "bad stack segment 104"),
            Attack.killed("stack-too-many-pages", "guest_set_stack(): more than two pages", "bad stack pages 3"),
            Attack.killed("stack-unmapped", "pin_page(): stack not mapped", "bad stack page 0x40001fff"),
            Attack.killed("stack-in-switcher", "pin_page() -> spgd_addr(): stack in the switcher's slot",
                    "attempt to access switcher pages"),
            Attack.killed("triple-fault", "set_guest_interrupt(): frame pushed on an unmapped stack",
                    "pushing trap frame at 0x4000fffc"),
            Attack.killed("direct-trap-bad-stack", "direct trap whose stack is unmapped",
                    "unhandled trap 14"),
            // x86/core.c
            Attack.killed("page-fault-no-handler", "lguest_arch_handle_trap(): unhandled trap",
                    "unhandled trap 14"),
            Attack.killed("ud2", "lguest_arch_handle_trap(): unhandled trap", "unhandled trap 6"),
            Attack.killed("cli", "ring 1 runs with IOPL 0", "unhandled trap 13"),
            Attack.killed("raise-iopl", "popf cannot raise IOPL at ring 1", "unhandled trap 13"),
            Attack.killed("write-cr3", "privileged instruction at ring 1", "unhandled trap 13"),
            Attack.killed("iret-to-ring0", "iret cannot go to ring 0", "unhandled trap 13"),
            // page_tables.c
            Attack.killed("pgtable-outside", "demand_page(): lgread of the page directory",
                    "bad read address 0xe0000000"),
            Attack.killed("set-pte-beyond-limit", "do_set_pte() -> check_gpte(): pfn >= pfn_limit",
                    "bad page table entry"),
            Attack.killed("pte-beyond-limit", "demand_page() -> check_gpte(): pfn >= pfn_limit",
                    "bad page table entry"),
            Attack.killed("pte-write-through", "check_gpte(): _PAGE_PWT", "bad page table entry"),
            Attack.killed("pmd-index-beyond", "host: SET_PMD index beyond the directory",
                    "bad page directory index 1024"),
            Attack.killed("pgd-beyond-limit", "check_gpgd(): pfn >= pfn_limit", "bad page directory entry"),
            Attack.killed("pgd-large-page", "check_gpgd(): _PAGE_PSE", "bad page directory entry"),
            Attack.killed("pgd-switcher", "spgd_addr(): directory entry over the switcher",
                    "attempt to access switcher pages"),
            Attack.killed("pmd-switcher", "host: SET_PMD over the switcher", "attempt to access switcher pages"),
            Attack.killed("pte-switcher", "guest_set_pte() -> spgd_addr()", "attempt to access switcher pages"),
            Attack.killed("write-switcher", "switcher pages are read-only to the guest", "unhandled trap 14"));

    @Inject
    private GuestLauncher launcher;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    /** The control run: the hostile guest does nothing wrong and powers off. */
    @Test
    public void harmlessRunPowersOff() throws Exception {
        Guests.Run run = Guests.boot(launcher, Guests.image(IMAGE), MEMORY_MB, List.of("attack=harmless"));
        GuestOutcome outcome = run.awaitEnd(HOSTILE_TIMEOUT);
        assertTrue(outcome.reason(), outcome.poweredOff());
        assertTrue(run.output(), run.output().contains("harmless"));
    }

    @Test
    public void everyAttackKillsOnlyTheAttacker() throws Exception {
        List<String> failures = new ArrayList<>();
        for (Attack attack : ATTACKS) {
            failures.addAll(HostileRun.of(launcher, attack, SPIN).check(HOSTILE_TIMEOUT, DEMO_TIMEOUT, JAVA_TEXT));
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " of the attacks went wrong:\n" + String.join("\n", failures));
        }
    }
}
