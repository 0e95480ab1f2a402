/*
 * No exception may leave the run loop, whatever the guest did to provoke it: a
 * collaborator that throws while serving a guest kills that guest with a plain
 * reason, and run() answers ENOENT like for any other death, so the Launcher prints
 * a sentence rather than a Java exception.
 */
package dev.lguest.switcher;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.device.Errno;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.hypercalls.HypercallHandler;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.GuestMemoryFault;
import dev.lguest.api.memory.PhysicalMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Deque;

import static org.junit.jupiter.api.Assertions.assertEquals;

class HostFailureTest {
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment ram = arena.allocate(2 << 20);
    private final Guest guest = new Guest(new GuestMemory(ram), new PhysicalMemory(ram), 512, Thread.currentThread());
    private final Deque<Fakes.ScriptedCpu.Step> script = Fakes.script();
    private final SwitcherComponent switcher = new SwitcherComponent();

    /** Hypercalls that fail the way a buggy service would, with what they are given. */
    private static HypercallHandler failingWith(RuntimeException failure) {
        return new HypercallHandler() {
            @Override
            public void doHypercalls(Guest g) {
                throw failure;
            }

            @Override
            public void doHypercall(Guest g, int number, int arg1, int arg2, int arg3) {
                throw failure;
            }
        };
    }

    @BeforeEach
    void setUp() {
        switcher.bindCpuFactory(new Fakes.ScriptedFactory(script), java.util.Map.of());
        switcher.bindPageTables(new Fakes.FlatMmu(), java.util.Map.of());
        switcher.bindSegments(new Fakes.FlatSegments(), java.util.Map.of());
        switcher.bindTraps(new Fakes.RecordingTraps(), java.util.Map.of());
    }

    @AfterEach
    void tearDown() {
        switcher.deactivate();
        arena.close();
    }

    private void hypercallExit() {
        script.add(new Fakes.ScriptedCpu.Step(s -> s.gpr[X86.EAX] = 99,
                new CpuExit(ExitReason.VECTOR, Lguest.TRAP_ENTRY, 0, 1)));
    }

    @Test
    void aThrowingCollaboratorKillsTheGuestWithAPlainReason() {
        switcher.bindHypercalls(failingWith(new IllegalStateException("java.lang.Bug: boom")), java.util.Map.of());
        switcher.initialize(guest, 0x3000, 0x100000);
        hypercallExit();
        assertEquals(-Errno.ENOENT, switcher.run(guest));
        assertEquals("host failure while running the guest", guest.deadReason());
    }

    @Test
    void aGuestMemoryFaultIsReportedByItsNumbersNotItsText() {
        switcher.bindHypercalls(failingWith(new GuestMemoryFault(0xE0000000L, 4)), java.util.Map.of());
        switcher.initialize(guest, 0x3000, 0x100000);
        hypercallExit();
        assertEquals(-Errno.ENOENT, switcher.run(guest));
        assertEquals("bad guest memory access 0xe0000000 len 4", guest.deadReason());
    }
}
