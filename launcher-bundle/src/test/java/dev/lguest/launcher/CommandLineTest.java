package dev.lguest.launcher;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CommandLineTest {
    @Test
    void noArgumentsBootsTheDemoGuest() {
        var boot = assertInstanceOf(CommandLine.Boot.class, CommandLine.parse(List.of()));
        assertNull(boot.kernel());
        assertEquals(CommandLine.DEFAULT_MEMORY_MB, boot.memoryMegabytes());
    }

    @Test
    void fullCommandLine() {
        var boot = assertInstanceOf(CommandLine.Boot.class, CommandLine.parse(List.of(
                "--verbose", "--initrd=/tmp/i.cpio.gz", "--block=disk.img", "64", "vmlinux", "root=/dev/vda", "quiet")));
        assertTrue(boot.verbose());
        assertEquals(Path.of("/tmp/i.cpio.gz"), boot.initrd());
        assertEquals(Path.of("disk.img"), boot.block());
        assertEquals(64, boot.memoryMegabytes());
        assertEquals(Path.of("vmlinux"), boot.kernel());
        assertEquals(List.of("root=/dev/vda", "quiet"), boot.kernelArguments());
    }

    @Test
    void theInitrdIsInflatedByTheHostOnlyWhenAsked() {
        var plain = assertInstanceOf(CommandLine.Boot.class, CommandLine.parse(List.of(
                "--initrd=i.gz", "64", "vmlinux")));
        assertFalse(plain.inflateInitrd());
        assertFalse(plain.toSpec(null).inflateInitrd());
        var asked = assertInstanceOf(CommandLine.Boot.class, CommandLine.parse(List.of(
                "64", "vmlinux", "--initrd=i.gz", "--inflate-initrd")));
        assertTrue(asked.inflateInitrd());
        assertTrue(asked.toSpec(null).inflateInitrd());
        assertEquals(List.of(), asked.kernelArguments());
    }

    @Test
    void gdbOptions() {
        var plain = assertInstanceOf(CommandLine.Boot.class, CommandLine.parse(List.of("64", "vmlinux")));
        assertEquals(-1, plain.gdbPort());
        assertFalse(plain.gdbWait());
        var gdb = assertInstanceOf(CommandLine.Boot.class, CommandLine.parse(List.of("--gdb=4321", "64", "vmlinux")));
        assertEquals(4321, gdb.gdbPort());
        assertFalse(gdb.gdbWait());
        var wait = assertInstanceOf(CommandLine.Boot.class, CommandLine.parse(List.of("64", "vmlinux", "--gdb-wait")));
        assertEquals(CommandLine.DEFAULT_GDB_PORT, wait.gdbPort(), "--gdb-wait alone listens on gdb's usual port");
        assertTrue(wait.gdbWait());
        for (String bad : List.of("--gdb=", "--gdb=x", "--gdb=0", "--gdb=65536")) {
            var error = assertInstanceOf(CommandLine.Error.class, CommandLine.parse(List.of(bad, "64", "vmlinux")));
            assertTrue(error.message().contains("--gdb"), error.message());
        }
    }

    @Test
    void optionsMayFollowTheKernelAsWithGetopt() {
        var boot = assertInstanceOf(CommandLine.Boot.class, CommandLine.parse(List.of(
                "64", "vmlinux", "--initrd=i.gz", "mode=programs", "--block=d.img", "-v")));
        assertEquals(Path.of("i.gz"), boot.initrd());
        assertEquals(Path.of("d.img"), boot.block());
        assertTrue(boot.verbose());
        assertEquals(List.of("mode=programs"), boot.kernelArguments());
    }

    @Test
    void afterADoubleDashEveryWordIsTheGuests() {
        var boot = assertInstanceOf(CommandLine.Boot.class, CommandLine.parse(List.of(
                "64", "vmlinux", "--", "--verbose", "-s")));
        assertFalse(boot.verbose());
        assertEquals(List.of("--verbose", "-s"), boot.kernelArguments());
    }

    @Test
    void helpAndShell() {
        assertInstanceOf(CommandLine.Help.class, CommandLine.parse(List.of("--help")));
        assertInstanceOf(CommandLine.Shell.class, CommandLine.parse(List.of("--shell")));
    }

    @Test
    void restoreTakesASnapshotAndMayReplaceItsDisk() {
        var restore = assertInstanceOf(CommandLine.Restore.class, CommandLine.parse(List.of(
                "--restore=guest.snap", "--block=other.img")));
        assertEquals(Path.of("guest.snap"), restore.snapshot());
        assertEquals(Path.of("other.img"), restore.block());
        assertEquals(List.of(), restore.networks());
        assertEquals("--restore takes no memory, kernel, arguments or --initrd: they are the snapshot's",
                assertInstanceOf(CommandLine.Error.class, CommandLine.parse(List.of(
                        "--restore=guest.snap", "64", "vmlinux"))).message());
        assertInstanceOf(CommandLine.Error.class, CommandLine.parse(List.of("--restore=")));
    }

    @Test
    void incomingTakesAPortAndMayReplaceTheDisk() {
        var incoming = assertInstanceOf(CommandLine.Incoming.class, CommandLine.parse(List.of(
                "--incoming=47000", "--block=other.img")));
        assertEquals(47000, incoming.port());
        assertEquals(Path.of("other.img"), incoming.block());
        assertEquals(0, assertInstanceOf(CommandLine.Incoming.class,
                CommandLine.parse(List.of("--incoming=0"))).port());
        assertEquals("--incoming takes no memory, kernel, arguments, --initrd or --restore: they come with the guest",
                assertInstanceOf(CommandLine.Error.class, CommandLine.parse(List.of(
                        "--incoming=47000", "64", "vmlinux"))).message());
        assertEquals("--incoming takes no network: a guest with a network card cannot migrate yet",
                assertInstanceOf(CommandLine.Error.class, CommandLine.parse(List.of(
                        "--incoming=47000", "--net=switch:lan0"))).message());
        assertEquals("--incoming needs a port number from 0 to 65535, not 'x'",
                assertInstanceOf(CommandLine.Error.class, CommandLine.parse(List.of("--incoming=x"))).message());
    }

    @Test
    void theMonitorIsTakenOutBeforeTheCommandLineProper() {
        var monitor = CommandLine.takeMonitor(List.of("--monitor=4444", "64", "vmlinux", "--", "--monitor=1"));
        assertEquals(4444, monitor.port());
        assertEquals(List.of("64", "vmlinux", "--", "--monitor=1"), monitor.rest(),
                "after -- it is the guest's word");
        assertEquals(-1, CommandLine.takeMonitor(List.of("64", "vmlinux")).port());
        assertEquals("--monitor needs a port number from 0 to 65535, not '70000'",
                CommandLine.takeMonitor(List.of("--monitor=70000")).error());
    }

    @Test
    void aRestoredNetworkCardJoinsTheNetworkTheRestoreNames() {
        assertEquals(List.of("switch:lan0"), assertInstanceOf(CommandLine.Restore.class, CommandLine.parse(List.of(
                "--restore=guest.snap", "--net=switch:lan0"))).networks());
        assertEquals(List.of("tap:10.0.0.1"), assertInstanceOf(CommandLine.Restore.class, CommandLine.parse(List.of(
                "--tunnet=10.0.0.1", "--restore=guest.snap"))).networks());
    }

    @Test
    void badInputIsOneClearLine() {
        assertEquals("unknown option --frobnicate (try --help)",
                assertInstanceOf(CommandLine.Error.class, CommandLine.parse(List.of("--frobnicate"))).message());
        assertEquals("memory must be a number of megabytes, not 'lots'",
                assertInstanceOf(CommandLine.Error.class, CommandLine.parse(List.of("lots", "vmlinux"))).message());
        assertEquals("guest memory must be between 1 and 2048 MB, not 0",
                assertInstanceOf(CommandLine.Error.class, CommandLine.parse(List.of("0", "vmlinux"))).message());
        assertTrue(assertInstanceOf(CommandLine.Error.class, CommandLine.parse(List.of("64"))).message()
                .startsWith("missing the kernel"));
        assertInstanceOf(CommandLine.Error.class, CommandLine.parse(List.of("--initrd=")));
    }
}
