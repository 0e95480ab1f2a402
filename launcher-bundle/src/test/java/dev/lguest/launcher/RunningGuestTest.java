package dev.lguest.launcher;

import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.ConfigField;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.GuestOutcome;
import dev.lguest.api.launcher.GuestSession;
import dev.lguest.api.launcher.Virtqueue;
import dev.lguest.api.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Launcher's run loop against a scripted /dev/lguest: how each way of ending
 * becomes an outcome, and where --verbose goes.
 */
class RunningGuestTest {
    private static final long MEM = 4 << 20;
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();

    /** A device that does {@code onInput} when the Launcher services input. */
    private record InputDevice(Consumer<LauncherDeviceHost> onInput, LauncherDeviceHost host) implements GuestDevice {
        @Override
        public int queueCount() {
            return 1;
        }

        @Override
        public List<ConfigField> configFields() {
            return List.of();
        }

        @Override
        public String describe() {
            return "input";
        }

        @Override
        public void connect(List<Virtqueue> queues) {
        }

        @Override
        public void notified(int index) {
        }

        @Override
        public void serviceInput() {
            onInput.accept(host);
        }

        @Override
        public void close() {
        }
    }

    private GuestOutcome run(ScriptedLguest lguest, Consumer<LauncherDeviceHost> onInput) throws Exception {
        Arena arena = Arena.ofShared();
        GuestLayout layout = new GuestLayout(MEM);
        MemorySegment memory = arena.allocate(layout.totalBytes(), 4096);
        ConsoleLines lines = new ConsoleLines(stdout, new PrintStream(stderr, true));
        LauncherDeviceHost host = new LauncherDeviceHost(lines, null, true);
        GuestDevices devices = new GuestDevices(new GuestMemory(memory), layout);
        devices.add("input", 3, new InputDevice(onInput, host));
        RunningGuest guest = new RunningGuest(() -> lguest, memory, arena, layout, 0, 0x100000, lines.console(),
                devices, host, lines::finish);
        guest.start();
        return guest.await(Duration.ofMinutes(1)).orElseThrow();
    }

    @Test
    void theUsersStopThroughADeviceExitsTwo() throws Exception {
        // The console's triple ^C stops the guest while it serves input: the guest is
        // dead before the Launcher's next read, which answers with the reason at once.
        GuestOutcome end = run(new ScriptedLguest().breakOut(),
                host -> host.stopGuest("three ^C on the console: the user ended the guest"));
        assertEquals(new GuestOutcome(false, "three ^C on the console: the user ended the guest", 2), end);
    }

    @Test
    void aGuestKilledWhileNotRunningDiesOfItsOwnReason() throws Exception {
        GuestOutcome[] end = new GuestOutcome[1];
        ScriptedLguest lguest = new ScriptedLguest().breakOut();
        end[0] = run(lguest, host -> lguest.guest().kill("stopped by the Launcher"));
        assertEquals(new GuestOutcome(false, "stopped by the Launcher", 1), end[0]);
    }

    @Test
    void powerDownIsZeroAndACrashOne() throws Exception {
        assertEquals(new GuestOutcome(true, "Power down", 0),
                run(new ScriptedLguest().dies("Power down"), host -> { }));
        assertEquals(new GuestOutcome(false, "Kernel panic - not syncing: Attempted to kill init!", 1),
                run(new ScriptedLguest().dies("Kernel panic - not syncing: Attempted to kill init!"), host -> { }));
    }

    @Test
    void verboseLinesGoToStandardErrorAndTheConsoleStaysClean() throws Exception {
        // A NOTIFY of the device's queue page (the first page after the descriptor page).
        GuestOutcome end = run(new ScriptedLguest().notifyAt((int) MEM + 0x1000).dies("Power down"), host -> { });
        assertTrue(end.poweredOff());
        assertEquals("", stdout.toString(StandardCharsets.ISO_8859_1));
        String said = stderr.toString(StandardCharsets.ISO_8859_1);
        assertTrue(said.matches("First guest instruction: \\d+ ms after the process started \\(epoch ms \\d+\\)\\R"
                + String.format("Notify on address %#x, output to input%n", MEM + 0x1000)), said);
    }

    @Test
    void theLauncherPrintsItsBootLinesOnStandardError() throws Exception {
        LauncherComponent launcher = new LauncherComponent(new PrintStream(stderr, true));
        launcher.bindDevice(new ScriptedLguest().dies("Power down"));
        byte[] kernel = ElfKernelTest.elf(3, 0x100000, new byte[] {(byte) 0xf4}, 1);
        GuestSession session = launcher.boot(new BootSpec(4, null, kernel, null, null, List.of(), true), stdout);
        assertTrue(session.await(Duration.ofMinutes(1)).orElseThrow().poweredOff());
        assertEquals("", stdout.toString(StandardCharsets.ISO_8859_1));
        String said = stderr.toString(StandardCharsets.ISO_8859_1);
        assertTrue(said.contains("Linear mapping of 1024 pages"), said);
        assertTrue(said.contains("Devices: descriptor page at 0x400000, 0 attached"), said);
    }
}
