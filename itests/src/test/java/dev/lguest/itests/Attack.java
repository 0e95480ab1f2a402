package dev.lguest.itests;

import java.util.List;

/**
 * One row of the malicious guest suite: what the hostile guest (guest/hostile) is told
 * to do on its command line, what lguest check it runs into, and the stable part of
 * the reason the host must give when it kills the guest for it. An attack whose
 * reason is null is one the host must quietly fix up: the guest then powers off and
 * its console must show {@code output}.
 */
record Attack(String name, String check, String reason, String output) {

    static Attack killed(String name, String check, String reason) {
        return new Attack(name, check, reason, null);
    }

    static Attack fixedUp(String name, String check, String output) {
        return new Attack(name, check, null, output);
    }

    boolean expectsDeath() {
        return reason != null;
    }

    /** The hostile guest's command line for this attack. */
    List<String> arguments() {
        return List.of("attack=" + name);
    }

    @Override
    public String toString() {
        return name + " (" + check + ")";
    }
}
