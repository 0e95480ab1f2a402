package dev.lguest.itests;

import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestOutcome;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One attack of the malicious guest suite as it runs: a demo guest busy with a
 * checksum, and beside it, in the same framework, the hostile guest making the attack.
 * check() waits for both and says, in plain sentences, everything that went wrong;
 * an empty list means the host did its job. The demo guest never ends on its own
 * ("forever": after its checksum it keeps computing until stopped), so that it is
 * still running when the attack is over however fast the CPU under it is, and the
 * check can ask that it was left alone: alive, with the right checksum printed.
 */
final class HostileRun {
    private final Attack attack;
    private final int spin;
    private final Guests.Run demo;
    private final Guests.Run hostile;

    private HostileRun(Attack attack, int spin, Guests.Run demo, Guests.Run hostile) {
        this.attack = attack;
        this.spin = spin;
        this.demo = demo;
        this.hostile = hostile;
    }

    /** Starts the demo guest first, so it is running when the attack comes. */
    static HostileRun of(GuestLauncher launcher, Attack attack, int spin) throws Exception {
        Guests.Run demo = Guests.bootDemo(launcher, List.of("spin=" + spin, "forever"));
        Guests.Run hostile = Guests.boot(launcher, Guests.image("hostile.elf"), 16, attack.arguments());
        return new HostileRun(attack, spin, demo, hostile);
    }

    List<String> check(Duration hostileTimeout, Duration demoTimeout, Pattern javaText) throws InterruptedException {
        List<String> problems = new ArrayList<>();
        GuestOutcome outcome = hostile.session().await(hostileTimeout).orElse(null);
        if (outcome == null) {
            hostile.session().stop();
            problems.add(attack + ": the hostile guest still ran after " + hostileTimeout
                    + "; it printed: " + hostile.output());
        } else if (attack.expectsDeath()) {
            if (outcome.poweredOff() || outcome.exitCode() != 1) {
                problems.add(attack + ": expected death with \"" + attack.reason() + "\", but it powered off");
            } else if (!outcome.reason().contains(attack.reason())) {
                problems.add(attack + ": expected \"" + attack.reason() + "\", died with \"" + outcome.reason() + "\"");
            }
        } else {
            if (!outcome.poweredOff()) {
                problems.add(attack + ": should have been fixed up and powered off, died with \""
                        + outcome.reason() + "\"");
            } else if (!hostile.output().contains(attack.output())) {
                problems.add(attack + ": expected \"" + attack.output() + "\" on the console, got: " + hostile.output());
            }
        }
        if (outcome != null && javaText.matcher(outcome.reason()).find()) {
            problems.add(attack + ": Java text in the reason: " + outcome.reason());
        }

        // The demo never ends on its own: an outcome, now or while it finishes its
        // checksum, means the attack (or the host's answer to it) took it down.
        String expected = String.format("checksum 0x%08x", Guests.checksum(spin));
        demo.awaitOutputOrEnd(output -> output.contains(expected), demoTimeout);
        GuestOutcome demoOutcome = demo.session().await(Duration.ZERO).orElse(null);
        if (demoOutcome != null) {
            problems.add(attack + ": the demo guest beside it ended: " + demoOutcome.reason());
        } else if (!demo.output().contains(expected)) {
            problems.add(attack + ": the demo guest beside it did not print " + expected + " in " + demoTimeout
                    + ": " + demo.output());
        }
        demo.session().stop();
        return problems;
    }
}
