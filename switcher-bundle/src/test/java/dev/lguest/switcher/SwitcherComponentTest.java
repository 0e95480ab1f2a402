package dev.lguest.switcher;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.device.Errno;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.service.SwapGap;
import dev.lguest.api.memory.PhysicalMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The run loop's exit handling and the CPU hand-over, against scripted collaborators. */
class SwitcherComponentTest {
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment ram = arena.allocate(2 << 20);
    private final Guest guest = new Guest(new GuestMemory(ram), new PhysicalMemory(ram), 512, Thread.currentThread());
    private final Deque<Fakes.ScriptedCpu.Step> script = Fakes.script();
    private final Fakes.ScriptedFactory cpus = new Fakes.ScriptedFactory(script);
    private final Fakes.FlatMmu mmu = new Fakes.FlatMmu();
    private final Fakes.RecordingTraps traps = new Fakes.RecordingTraps();
    private final Fakes.MiniHypercalls hypercalls = new Fakes.MiniHypercalls();
    private final SwitcherComponent switcher = new SwitcherComponent();
    /** Threads of their own for the guest and the framework (the common pool may have one). */
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @BeforeEach
    void setUp() {
        switcher.bindCpuFactory(cpus, java.util.Map.of());
        switcher.bindPageTables(mmu, java.util.Map.of());
        switcher.bindSegments(new Fakes.FlatSegments(), java.util.Map.of());
        switcher.bindTraps(traps, java.util.Map.of());
        switcher.bindHypercalls(hypercalls, java.util.Map.of());
        switcher.initialize(guest, 0x3000, 0x100000);
    }

    @AfterEach
    void tearDown() {
        threads.shutdownNow();
        switcher.deactivate();
        arena.close();
    }

    private void step(Consumer<CpuState> effect, ExitReason reason, int vector, int error) {
        script.add(new Fakes.ScriptedCpu.Step(effect, new CpuExit(reason, vector, error, 10)));
    }

    private void hypercall(int number, int arg1) {
        step(s -> {
            s.gpr[X86.EAX] = number;
            s.gpr[X86.EDX] = arg1;
            s.eip += 2;
        }, ExitReason.VECTOR, Lguest.TRAP_ENTRY, 0);
    }

    @Test
    void theGuestStartsAsLguestSetsItUp() {
        hypercall(17, 0x4242);
        assertEquals(0x4242, switcher.run(guest));
        CpuState s = guest.cpu().saveState();
        assertEquals(0x100002, s.eip);
        assertEquals(X86.IF | X86.EFLAGS_FIXED, s.eflags);
        assertEquals(Lguest.KERNEL_CS, s.segment(dev.lguest.api.cpu.SegmentRegister.CS).selector());
        assertEquals(Lguest.KERNEL_DS, s.segment(dev.lguest.api.cpu.SegmentRegister.SS).selector());
        assertEquals(0x5000, s.cr3);
        assertTrue((s.cr0 & X86.CR0_PG) != 0 && (s.cr0 & X86.CR0_WP) != 0);
        assertTrue((s.cr0 & X86.CR0_AM) != 0, "a Linux host's CR0 has AM: #AC for processes that set AC");
        assertEquals(SwitcherPages.GDT_ADDRESS, s.gdtBase);
        assertEquals(SwitcherPages.IDT_ADDRESS, s.idtBase);
        // Every vector comes back to the host except the direct system call.
        assertTrue(s.isHostVector(Lguest.TRAP_ENTRY));
        assertTrue(s.isHostVector(X86.PF_VECTOR));
        assertFalse(s.isHostVector(0x80));
    }

    @Test
    void crashPowerDownEndsTheRun() {
        hypercall(2, 0);
        assertEquals(-Errno.ENOENT, switcher.run(guest));
        assertEquals("Power down", guest.deadReason());
    }

    @Test
    void aPageFaultTheShadowCanFixIsInvisible() {
        step(s -> s.cr2 = 0xc0001000, ExitReason.VECTOR, X86.PF_VECTOR, 2);
        mmu.fixable.add(0xc0001000);
        hypercall(17, 1);
        assertEquals(1, switcher.run(guest));
        assertTrue(traps.delivered.isEmpty());
    }

    @Test
    void theShadowRootIsLoadedOnceWhetherTheMmuOrTheLoopLoadsIt() {
        // The MMU switches to root 0x6000 and loads it itself (NEW_PGTABLE does), then to
        // 0x7000 without loading it: each must reach CR3 before the next run, once,
        // since every load empties the TLB and unlinks every block.
        step(s -> s.cr2 = 0xc0001000, ExitReason.VECTOR, X86.PF_VECTOR, 2);
        mmu.fixable.add(0xc0001000);
        mmu.rootSwitches.add(0x6000);
        step(s -> s.cr2 = 0xc0002000, ExitReason.VECTOR, X86.PF_VECTOR, 2);
        mmu.fixable.add(0xc0002000);
        mmu.rootSwitches.add(-0x7000);
        hypercall(17, 1);
        assertEquals(1, switcher.run(guest));
        Fakes.ScriptedCpu cpu = cpus.made.get(cpus.made.size() - 1);
        assertEquals(java.util.List.of(0x5000, 0x6000, 0x7000), cpu.cr3Loads);
        assertEquals(0x7000, cpu.saveState().cr3);
    }

    @Test
    void theCpuIsToldWhatTheHostWroteAndRereadsNothingAfterAStopFromOutside() {
        // The clock goes into lguest_data (frame 8) on every turn: a host write.
        guest.lguestData = 0x8000;
        step(s -> s.cr2 = 0xc0001000, ExitReason.VECTOR, X86.PF_VECTOR, 2);
        mmu.fixable.add(0xc0001000);
        step(s -> { }, ExitReason.INTERRUPTED, 0, 0);
        step(s -> { }, ExitReason.BUDGET, 0, 0);
        hypercall(17, 1);
        assertEquals(1, switcher.run(guest));
        Fakes.ScriptedCpu cpu = cpus.made.get(cpus.made.size() - 1);
        // The first run is plain (the Launcher had the guest); after a fault the host
        // fixed, after interrupt() and after the budget, only the frames the host named
        // were written: devices name theirs too (see the test below).
        assertEquals(java.util.List.of(false, true, true, true), cpu.onlyNamedWrites);
        assertTrue(cpu.framesWritten.contains(8), cpu.framesWritten.toString());
    }

    @Test
    void aPendingInterruptNeedsNoRereading() {
        // A device raised IRQ 3 (it named its buffers when it handed them back) and the
        // guest has not taken it.
        guest.raiseIrq(3);
        step(s -> s.cr2 = 0xc0001000, ExitReason.VECTOR, X86.PF_VECTOR, 2);
        mmu.fixable.add(0xc0001000);
        hypercall(17, 1);
        assertEquals(1, switcher.run(guest));
        Fakes.ScriptedCpu cpu = cpus.made.get(cpus.made.size() - 1);
        assertEquals(java.util.List.of(false, true), cpu.onlyNamedWrites);
    }

    @Test
    void aBufferADeviceFillsDuringARunStopsTheCpuAndIsNamedToTheNextRun() {
        // While the guest runs, a device hands back a buffer it wrote at 0x9000-0x9fff
        // (frame 9), say a page of code read from disk: the CPU must stop before the
        // guest can see the used index, and the next run must drop what it decoded
        // from frame 9, without re-reading every other frame.
        int[] interruptsDuringRun = new int[1];
        step(s -> {
            Fakes.ScriptedCpu running = (Fakes.ScriptedCpu) guest.cpu();
            int before = running.interrupts;
            guest.memory.deviceWrote(0x9000, 0x1000);
            interruptsDuringRun[0] = running.interrupts - before;
        }, ExitReason.INTERRUPTED, 0, 0);
        hypercall(17, 1);
        assertEquals(1, switcher.run(guest));
        Fakes.ScriptedCpu cpu = cpus.made.get(cpus.made.size() - 1);
        assertEquals(1, interruptsDuringRun[0], "the device's buffer stops the running CPU");
        assertEquals(java.util.List.of(false, true), cpu.onlyNamedWrites);
        assertTrue(cpu.framesNamedBeforeRun.get(1).contains(9), cpu.framesNamedBeforeRun.toString());
        // Out of the run the switcher watches no more (its watcher would keep an updated
        // switcher's classes reachable through the guest): a buffer now stops nothing.
        int interrupts = cpu.interrupts;
        guest.memory.deviceWrote(0x9000, 0x1000);
        assertEquals(interrupts, cpu.interrupts, "no watcher after the run");
    }

    @Test
    void aRealPageFaultGoesToTheGuestWithCr2InLguestData() {
        guest.lguestData = 0x8000;
        traps.handled.add(X86.PF_VECTOR);
        step(s -> s.cr2 = 0xdead0000, ExitReason.VECTOR, X86.PF_VECTOR, 4);
        hypercall(17, 1);
        assertEquals(1, switcher.run(guest));
        assertEquals(java.util.List.of(X86.PF_VECTOR), traps.delivered);
        assertEquals(0xdead0000, guest.memory.read32(0x8000 + 8));
    }

    @Test
    void aPageFaultReachesTheGuestAsItsOwnTablesWouldRaiseIt() {
        // The shadow is empty (after an MMU swap, say), so the CPU says "not present"
        // (error code 2, a write); but the guest maps the page read-only, and its own
        // CPU would have said "protection" (3). Where the guest maps nothing, the
        // CPU's "protection" on a stale shadow entry becomes "not present".
        traps.handled.add(X86.PF_VECTOR);
        step(s -> s.cr2 = 0x1000, ExitReason.VECTOR, X86.PF_VECTOR, X86.PF_WRITE);
        step(s -> s.cr2 = 0xdead0000, ExitReason.VECTOR, X86.PF_VECTOR, X86.PF_WRITE | X86.PF_PROT);
        hypercall(17, 1);
        assertEquals(1, switcher.run(guest));
        assertEquals(java.util.List.of(X86.PF_WRITE | X86.PF_PROT, X86.PF_WRITE), traps.errorCodes);
    }

    @Test
    void aTrapWithoutAHandlerKillsTheGuest() {
        step(s -> s.eip = 0x100123, ExitReason.VECTOR, X86.UD, 0);
        assertEquals(-Errno.ENOENT, switcher.run(guest));
        assertEquals("unhandled trap 6 at 0x100123 (0x0)", guest.deadReason());
    }

    @Test
    void portIoIsSkippedReadingAllOnes() {
        guest.memory.write(0x100000, new byte[] {(byte) 0xe4, 0x21, (byte) 0x66, (byte) 0xed});
        step(s -> s.gpr[X86.EAX] = 0x12345600, ExitReason.VECTOR, X86.GP, 0);   // in al, 0x21
        step(s -> { }, ExitReason.VECTOR, X86.GP, 0);                          // in ax, dx
        step(s -> s.gpr[X86.ESI] = s.gpr[X86.EAX], ExitReason.BUDGET, 0, 0);    // what the guest read
        hypercall(17, 7);
        assertEquals(7, switcher.run(guest));
        assertEquals(0x1234ffff, guest.cpu().gpr(X86.ESI));
        assertEquals(0x100006, guest.cpu().eip());
    }

    @Test
    void portIoInAUserProcessIsTheGuestsGeneralProtectionFault() {
        // The same "in al, 0x21", but at ring 3: lguest emulates it only for the guest
        // kernel, so the #GP goes to the guest (Linux sends the process SIGSEGV) and
        // neither EAX nor EIP moves.
        guest.memory.write(0x100000, new byte[] {(byte) 0xe4, 0x21});
        traps.handled.add(X86.GP);
        step(s -> {
            s.setSegment(dev.lguest.api.cpu.SegmentRegister.CS, new dev.lguest.api.cpu.SegmentCache(0x73, 0, -1, 0xc0fb));
            s.gpr[X86.EAX] = 0x12345600;
        }, ExitReason.VECTOR, X86.GP, 0);
        step(s -> s.gpr[X86.ESI] = s.gpr[X86.EAX], ExitReason.BUDGET, 0, 0);    // what the process has
        hypercall(17, 7);
        assertEquals(7, switcher.run(guest));
        assertEquals(java.util.List.of(X86.GP), traps.delivered);
        assertEquals(java.util.List.of(0), traps.errorCodes);
        assertEquals(0x12345600, guest.cpu().gpr(X86.ESI));
        assertEquals(0x100002, guest.cpu().eip()); // only the hypercall's step moved it
    }

    @Test
    void aGuestThatAskedForTsRunsWithCr0TsSoItsFpuUseTraps() {
        int[] seenCr0 = new int[2];
        step(s -> seenCr0[0] = s.cr0, ExitReason.BUDGET, 0, 0);
        step(s -> {
            seenCr0[1] = s.cr0;
            guest.taskSwitched = true;   // as the TS hypercall leaves it
        }, ExitReason.BUDGET, 0, 0);
        step(s -> seenCr0[0] = s.cr0, ExitReason.VECTOR, X86.NM, 0);
        traps.handled.add(X86.NM);
        hypercall(17, 1);
        assertEquals(1, switcher.run(guest));
        assertEquals(0, seenCr0[1] & X86.CR0_TS, "no TS before the guest asked");
        assertEquals(X86.CR0_TS, seenCr0[0] & X86.CR0_TS, "TS once it asked");
        assertEquals(java.util.List.of(X86.NM), traps.delivered, "the #NM is the guest's");
    }

    @Test
    void aTripleFaultKills() {
        step(s -> s.eip = 0x100010, ExitReason.SHUTDOWN, 0, 0);
        assertEquals(-Errno.ENOENT, switcher.run(guest));
        assertEquals("triple fault at 0x100010", guest.deadReason());
    }

    @Test
    void aBrokenOutGuestReturnsEagain() throws Exception {
        Thread waker = new Thread(() -> {
            try {
                guest.breakOut(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        waker.start();
        while (!guest.isBrokenOut()) {
            Thread.sleep(1);
        }
        assertEquals(-Errno.EAGAIN, switcher.run(guest));
        guest.clearBreak();
        waker.join();
    }

    @Test
    void aNewCpuFactoryTakesTheGuestsStateAtABoundary() {
        step(s -> s.gpr[X86.EBX] = 0xfeedbeef, ExitReason.BUDGET, 0, 0);
        hypercall(17, 1);
        assertEquals(1, switcher.run(guest));
        var first = guest.cpu();

        Fakes.ScriptedFactory second = new Fakes.ScriptedFactory(script);
        switcher.bindCpuFactory(second, java.util.Map.of());
        switcher.unbindCpuFactory(cpus);
        // The unbind moved the guest off the old CPU at once, state and all.
        assertSame(second, guest.cpuMaker);
        assertNotSame(first, guest.cpu());
        assertEquals(0xfeedbeef, guest.cpu().gpr(X86.EBX));

        guest.pendingNotify = 0; // as /dev/lguest does when the Launcher reads again
        hypercall(17, 2);
        assertEquals(2, switcher.run(guest));
        assertEquals(1, second.made.size());
        assertEquals(0x100004, guest.cpu().eip());
    }

    @Test
    void aCpuFactoryBoundWhileGuestsExistRunsACpuOfItsOwnFirst() {
        hypercall(17, 1);
        assertEquals(1, switcher.run(guest));
        assertEquals(0, cpus.firstRuns, "no guest existed when the first factory was bound");
        Fakes.ScriptedFactory second = new Fakes.ScriptedFactory(script);
        switcher.bindCpuFactory(second, java.util.Map.of());
        assertEquals(1, second.firstRuns, "the new factory's CPU ran on the scratch machine");
        assertTrue(second.made.isEmpty(), "the guest's own CPU is made when the guest moves, not before");
        assertSame(cpus, guest.cpuMaker, "the guest moves at its next turn");
    }

    @Test
    void anUpdatedCpuBundleLeavesTheGuestParkedUntilItsNewRevisionBinds() throws Exception {
        step(s -> s.gpr[X86.EBX] = 0xfeedbeef, ExitReason.BUDGET, 0, 0);
        hypercall(17, 1);
        assertEquals(1, switcher.run(guest));

        // Bundle.update: the old revision stops before the new one starts.
        switcher.unbindCpuFactory(cpus);
        assertNull(guest.cpu(), "no CPU of the stopped revision is left running");
        assertNull(guest.cpuMaker);

        guest.pendingNotify = 0;
        hypercall(17, 2);
        CompletableFuture<Long> run = CompletableFuture.supplyAsync(() -> switcher.run(guest), threads);
        Fakes.ScriptedFactory newRevision = new Fakes.ScriptedFactory(script);
        switcher.bindCpuFactory(newRevision, java.util.Map.of());
        assertEquals(2, run.get(30, TimeUnit.SECONDS));
        assertSame(newRevision, guest.cpuMaker);
        assertEquals(0xfeedbeef, guest.cpu().gpr(X86.EBX), "the registers waited in the parked state");
        assertEquals(0x100004, guest.cpu().eip());
    }

    @Test
    void aFactoryUnboundWhileATurnMakesACpuFromItIsNotUsedAfterTheUnbind() throws Exception {
        hypercall(17, 1);
        CountDownLatch creating = new CountDownLatch(1);
        CountDownLatch mayCreate = new CountDownLatch(1);
        // The guest is still parked from its set-up: its first turn makes a CPU, and
        // this factory holds it there while the factory is unbound.
        X86CpuFactory slow = new X86CpuFactory() {
            @Override
            public X86Cpu create(PhysicalMemory bus) {
                if (bus != guest.bus) {
                    return cpus.create(bus); // the first run on the switcher's scratch machine
                }
                creating.countDown();
                try {
                    mayCreate.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return cpus.create(bus);
            }

            @Override
            public String name() {
                return "slow";
            }
        };
        switcher.unbindCpuFactory(cpus);
        switcher.bindCpuFactory(slow, java.util.Map.of());
        CompletableFuture<Long> run = CompletableFuture.supplyAsync(() -> switcher.run(guest), threads);
        assertTrue(creating.await(30, TimeUnit.SECONDS));
        CompletableFuture<Void> unbind = CompletableFuture.runAsync(() -> switcher.unbindCpuFactory(slow), threads);
        Thread.sleep(50);
        assertFalse(unbind.isDone(), "the unbind waits for the turn that holds the factory");
        mayCreate.countDown();
        unbind.get(30, TimeUnit.SECONDS);
        assertNotSame(slow, guest.cpuMaker, "once the unbind returned, no guest runs on its CPUs");
        assertNull(guest.cpu());

        switcher.bindCpuFactory(cpus, java.util.Map.of());
        assertEquals(1, run.get(30, TimeUnit.SECONDS), () -> "dead: " + guest.deadReason());
        assertSame(cpus, guest.cpuMaker);
    }

    @Test
    void aCollaboratorsUnbindWaitsForTheCallATurnIsMakingIntoIt() throws Exception {
        CountDownLatch inCall = new CountDownLatch(1);
        CountDownLatch mayReturn = new CountDownLatch(1);
        // Shadow page tables whose demand paging holds the guest in the call.
        ShadowPageTables slow = (ShadowPageTables) java.lang.reflect.Proxy.newProxyInstance(
                ShadowPageTables.class.getClassLoader(), new Class<?>[] {ShadowPageTables.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("demandPage")) {
                        inCall.countDown();
                        mayReturn.await();
                        return true;
                    }
                    return method.invoke(mmu, args);
                });
        switcher.bindPageTables(slow, java.util.Map.of());
        step(s -> s.cr2 = 0xc0001000, ExitReason.VECTOR, X86.PF_VECTOR, 2);
        hypercall(17, 1);
        // The framework's side runs on another thread; the guest runs on this one, its
        // owner, as a Launcher's thread runs its guest.
        CompletableFuture<Void> framework = CompletableFuture.runAsync(() -> {
            try {
                assertTrue(inCall.await(30, TimeUnit.SECONDS));
                CompletableFuture<Void> unbind = CompletableFuture.runAsync(() -> switcher.unbindPageTables(slow),
                        threads);
                Thread.sleep(50);
                assertFalse(unbind.isDone(), "the unbind waits: the guest is inside the old page tables");
                mayReturn.countDown();
                // The guest then waits for page tables, which the unbind sees: it returns.
                unbind.get(5, TimeUnit.SECONDS);
                // The next revision comes.
                switcher.bindPageTables(mmu, java.util.Map.of());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }, threads);
        assertEquals(1, switcher.run(guest));
        framework.get(30, TimeUnit.SECONDS);
        assertFalse(guest.isDead(), guest.deadReason());
    }

    @Test
    void anUnbindDoesNotWaitForATurnThatWaitsForTheReplacement() throws Exception {
        // The framework stops the segments bundle: it clears the trap delivery's
        // field, then calls our unbind. The guest is in a trap delivery right then,
        // waiting out the gap for the replacement, which comes only once our unbind
        // returns. Waiting for that turn would hold both up until one gave up.
        SegmentManager old = new Fakes.FlatSegments();
        SegmentManager replacement = new Fakes.FlatSegments();
        AtomicReference<SegmentManager> trapsField = new AtomicReference<>(old);
        AtomicReference<SegmentManager> deliveredWith = new AtomicReference<>();
        CountDownLatch inDelivery = new CountDownLatch(1);
        CountDownLatch fieldCleared = new CountDownLatch(1);
        Fakes.RecordingTraps waitingTraps = new Fakes.RecordingTraps() {
            @Override
            public boolean deliverTrap(Guest g, int vector, boolean hasErrorCode, int errorCode) {
                inDelivery.countDown();
                try {
                    fieldCleared.await();
                } catch (InterruptedException e) {
                    return false;
                }
                // Shorter than the switcher's own patience, as the real gap is
                // shorter than the unbinds of a whole update and refresh together.
                deliveredWith.set(SwapGap.await(trapsField::get, TimeUnit.SECONDS.toNanos(3)));
                return deliveredWith.get() != null;
            }
        };
        switcher.bindTraps(waitingTraps, java.util.Map.of());
        switcher.bindSegments(old, java.util.Map.of());
        step(s -> s.eip = 0x100123, ExitReason.VECTOR, X86.UD, 0);
        hypercall(17, 1);
        CompletableFuture<Void> framework = CompletableFuture.runAsync(() -> {
            try {
                inDelivery.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            trapsField.set(null);
            fieldCleared.countDown();
            switcher.unbindSegments(old);
            trapsField.set(replacement);
            switcher.bindSegments(replacement, java.util.Map.of());
        }, threads);
        // The guest's own thread runs it: the switcher knows a guest's turns by it.
        assertEquals(1, switcher.run(guest), () -> "dead: " + guest.deadReason());
        framework.get(30, TimeUnit.SECONDS);
        assertSame(replacement, deliveredWith.get(), "the delivery waited for the replacement and got it");
        assertFalse(SwapGap.isWaiting(Thread.currentThread()));
    }

    @Test
    void aGuestParkedWhenItsSwitcherRetiresTakesItsRegistersToTheSuccessor() throws Exception {
        step(s -> s.gpr[X86.EBX] = 7, ExitReason.BUDGET, 0, 0);
        hypercall(17, 1);
        assertEquals(1, switcher.run(guest));
        switcher.unbindCpuFactory(cpus);
        switcher.deactivate();

        SwitcherComponent successor = new SwitcherComponent();
        successor.bindPageTables(mmu, java.util.Map.of());
        successor.bindSegments(new Fakes.FlatSegments(), java.util.Map.of());
        successor.bindTraps(traps, java.util.Map.of());
        successor.bindHypercalls(new Fakes.MiniHypercalls(), java.util.Map.of());
        guest.pendingNotify = 0;
        hypercall(17, 2);
        CompletableFuture<Long> run = CompletableFuture.supplyAsync(() -> successor.run(guest), threads);
        successor.bindCpuFactory(new Fakes.ScriptedFactory(script), java.util.Map.of());
        assertEquals(2, run.get(30, TimeUnit.SECONDS));
        assertEquals(7, guest.cpu().gpr(X86.EBX), "the registers went from one switcher to the next");
        successor.deactivate();
    }

    @Test
    void aRetiringSwitcherWaitingForAMissingComponentHandsTheGuestOver() throws Exception {
        hypercall(17, 1);
        assertEquals(1, switcher.run(guest));
        switcher.unbindHypercalls(hypercalls);
        guest.pendingNotify = 0;
        hypercall(17, 2);
        // The turn waits for a hypercall handler (up to 30 s) when the switcher retires.
        CompletableFuture<Long> run = CompletableFuture.supplyAsync(() -> switcher.run(guest), threads);
        Thread.sleep(50);
        switcher.deactivate();
        assertEquals(dev.lguest.api.switcher.Switcher.HANDED_OVER, run.get(30, TimeUnit.SECONDS));
        assertFalse(guest.isDead(), guest.deadReason());
        assertTrue(guest.hypercallPending, "the hypercall is left for the successor");
    }

    @Test
    void aSwitcherBeingReplacedDoesNotMoveTheCpuUnderItsSuccessorsTurn() throws Exception {
        hypercall(17, 5);
        assertEquals(5, switcher.run(guest));
        guest.pendingNotify = 0;
        // The successor runs the guest (the guest left the old switcher for a NOTIFY and
        // /dev/lguest already had the new one) while the old one, not yet deactivated,
        // still has the guest and gets the CPU bundle's unbind.
        SwitcherComponent successor = new SwitcherComponent();
        successor.bindCpuFactory(cpus, java.util.Map.of());
        successor.bindPageTables(mmu, java.util.Map.of());
        successor.bindSegments(new Fakes.FlatSegments(), java.util.Map.of());
        successor.bindTraps(traps, java.util.Map.of());
        successor.bindHypercalls(hypercalls, java.util.Map.of());
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch unbindReturned = new CountDownLatch(1);
        step(s -> {
            running.countDown();
            try {
                // Long enough for an unbind that does not wait for this turn to be over.
                unbindReturned.await(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            s.gpr[X86.EBX] = 7;
        }, ExitReason.BUDGET, 0, 0);
        hypercall(17, 1);
        CompletableFuture<Long> run = CompletableFuture.supplyAsync(() -> successor.run(guest), threads);
        assertTrue(running.await(30, TimeUnit.SECONDS));
        Fakes.ScriptedFactory next = new Fakes.ScriptedFactory(script);
        switcher.bindCpuFactory(next, java.util.Map.of());
        CompletableFuture<Void> unbind = CompletableFuture.runAsync(() -> {
            switcher.unbindCpuFactory(cpus);
            unbindReturned.countDown();
        }, threads);
        assertEquals(1, run.get(30, TimeUnit.SECONDS), () -> "dead: " + guest.deadReason());
        unbind.get(30, TimeUnit.SECONDS);
        assertEquals(7, guest.cpu().gpr(X86.EBX), "what the successor's turn did is on the CPU the guest has now");
        assertFalse(guest.isDead(), guest.deadReason());
        successor.deactivate();
    }

    @Test
    void aCpuSwapWaitsForATurnThatWaitsOutAnotherComponentsGap() throws Exception {
        GuestSlot slot = new GuestSlot(guest, SwitcherSettingsValue.DEFAULTS);
        dev.lguest.api.service.ServiceSlot<String> empty = new dev.lguest.api.service.ServiceSlot<>("test");
        long patience = TimeUnit.MILLISECONDS.toNanos(50);
        // The guest's own thread (this one) holds its CPU lock, waiting in a gap.
        CompletableFuture<Boolean> stopped = new CompletableFuture<>();
        slot.cpuLock.lock();
        try {
            CompletableFuture.runAsync(() -> {
                try {
                    while (!SwapGap.isWaiting(guest.owner)) {
                        Thread.sleep(1);
                    }
                    CompletableFuture<Boolean> swap = CompletableFuture.supplyAsync(() -> {
                        try {
                            boolean got = CpuHandOver.stopTurns(guest, slot, patience);
                            if (got) {
                                slot.cpuLock.unlock();
                            }
                            return got;
                        } catch (InterruptedException e) {
                            return false;
                        }
                    }, threads);
                    // Four times the patience, and the turn still waits for the replacement.
                    Thread.sleep(200);
                    empty.bind("replacement");
                    stopped.complete(swap.get(30, TimeUnit.SECONDS));
                } catch (Exception e) {
                    stopped.completeExceptionally(e);
                }
            }, threads);
            assertEquals("replacement", empty.await(60, TimeUnit.SECONDS));
        } finally {
            slot.cpuLock.unlock();
        }
        assertTrue(stopped.get(30, TimeUnit.SECONDS), "the swap waited for the turn, not given up on it");

        // A turn held elsewhere, not waiting for anything the swap brings, fails it after the patience.
        slot.cpuLock.lock();
        try {
            assertFalse(CompletableFuture.supplyAsync(() -> {
                try {
                    return CpuHandOver.stopTurns(guest, slot, patience);
                } catch (InterruptedException e) {
                    return true;
                }
            }, threads).get(30, TimeUnit.SECONDS));
        } finally {
            slot.cpuLock.unlock();
        }
    }

    @Test
    void aRetiringSwitcherHandsItsGuestToItsSuccessor() {
        step(s -> s.gpr[X86.EBX] = 7, ExitReason.BUDGET, 0, 0);
        hypercall(17, 1);
        assertEquals(1, switcher.run(guest));
        int before = guest.bus.hostPagesInUse();

        switcher.deactivate();
        assertEquals(dev.lguest.api.switcher.Switcher.HANDED_OVER, switcher.run(guest));
        assertEquals(before - 3, guest.bus.hostPagesInUse(), "the old switcher's pages are freed");

        SwitcherComponent successor = new SwitcherComponent();
        successor.bindCpuFactory(cpus, java.util.Map.of());
        successor.bindPageTables(mmu, java.util.Map.of());
        successor.bindSegments(new Fakes.FlatSegments(), java.util.Map.of());
        successor.bindTraps(traps, java.util.Map.of());
        successor.bindHypercalls(new Fakes.MiniHypercalls(), java.util.Map.of());
        guest.pendingNotify = 0;
        hypercall(17, 2);
        assertEquals(2, successor.run(guest));
        assertEquals(7, guest.cpu().gpr(X86.EBX), "the guest carries on where it was");
        assertEquals(before, guest.bus.hostPagesInUse(), "the successor made pages of its own");
        successor.deactivate();
    }

    @Test
    void aSliceEndsAboutWhenTheGuestsClockIsDue() {
        guest.clockDeadline = 0;
        assertEquals(RunLoop.SLICE, RunLoop.sliceUntilClock(guest));
        guest.clockDeadline = System.nanoTime() + 1_000_000_000L;
        assertEquals(RunLoop.SLICE, RunLoop.sliceUntilClock(guest), "a far deadline: a full slice");
        guest.clockDeadline = System.nanoTime() + 50_000;
        long near = RunLoop.sliceUntilClock(guest);
        assertTrue(near < 50_000 * RunLoop.INSTRUCTIONS_PER_NANOSECOND + 1 && near >= RunLoop.MIN_SLICE,
                "50 us away: " + near);
        guest.clockDeadline = System.nanoTime() - 1;
        assertEquals(RunLoop.MIN_SLICE, RunLoop.sliceUntilClock(guest), "overdue: the shortest slice");
    }

    @Test
    void theSwitcherPagesAreFreedWithTheGuest() {
        int before = guest.bus.hostPagesInUse();
        switcher.release(guest);
        assertEquals(before - 3, guest.bus.hostPagesInUse());
    }
}
