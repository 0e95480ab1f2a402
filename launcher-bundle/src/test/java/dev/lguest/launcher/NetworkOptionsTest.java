package dev.lguest.launcher;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** The network options: --net=KIND:ARG, and lguest's --tunnet as the "tap" kind. */
class NetworkOptionsTest {
    private static CommandLine.Boot boot(String... args) {
        return assertInstanceOf(CommandLine.Boot.class, CommandLine.parse(List.of(args)));
    }

    @Test
    void netNamesAKindAndItsArgument() {
        assertEquals(List.of("switch:lan0"), boot("--net=switch:lan0", "64", "vmlinux").networks());
    }

    @Test
    void tunnetIsTheTapKindWithLguestsArgument() {
        assertEquals(List.of("tap:10.0.0.1"), boot("64", "vmlinux", "--tunnet=10.0.0.1").networks());
        assertEquals(List.of("tap:bridge:br0"), boot("--tunnet=bridge:br0", "64", "vmlinux").networks());
    }

    @Test
    void theNetworksGoIntoTheBootSpecInOrder() {
        var spec = boot("--net=switch:a", "--net=socket:listen:4700", "64", "vmlinux").toSpec(null);
        assertEquals(List.of("switch:a", "socket:listen:4700"), spec.networks());
    }

    @Test
    void withoutNetworkOptionsAGuestHasNoNetwork() {
        assertEquals(List.of(), boot("64", "vmlinux").toSpec(null).networks());
    }

    @Test
    void anEmptyNetIsAnUnknownOption() {
        assertInstanceOf(CommandLine.Error.class, CommandLine.parse(List.of("--net=", "64", "vmlinux")));
    }
}
