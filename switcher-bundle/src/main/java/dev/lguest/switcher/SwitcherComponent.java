package dev.lguest.switcher;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.config.SwitcherSettings;
import dev.lguest.api.device.Errno;
import dev.lguest.api.events.GuestExitEvent;
import dev.lguest.api.events.GuestKilledEvent;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.GuestStatistics.Exit;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.guest.LguestData;
import dev.lguest.api.hypercalls.HypercallHandler;
import dev.lguest.api.memory.GuestMemoryFault;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.service.ServiceSlot;
import dev.lguest.api.service.SwapGap;
import dev.lguest.api.switcher.ParkedCpus;
import dev.lguest.api.switcher.Switcher;
import dev.lguest.api.traps.TrapDelivery;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The switcher and the run loop: lguest's run_guest() and the i386 trap handling.
 *
 * Running a guest is a loop: do any hypercall the guest made, hand a NOTIFY to the
 * Launcher, deliver an interrupt if one is pending and the guest can take it, sleep
 * if the guest halted, otherwise switch into the guest (copy in its GDT and IDT if
 * they changed, point CR3 at the shadow tables) and run its CPU until it exits, then
 * look at why it exited. The loop ends when the Launcher is needed: a NOTIFY, the
 * guest's death, or a break.
 *
 * Every collaborator is a dynamic, greedy reference. For the CPU that means more
 * than a field change: a guest's CPU holds its registers, so when a new CPU factory
 * is bound, each guest is stopped at an instruction boundary, its state taken from
 * the old CPU as a CpuState value and loaded into a new one. The old factory's unbind
 * waits until no guest runs on one of its CPUs any more.
 *
 * An update in place (Bundle.update) has no second copy running: the old revision
 * stops, and only then does the new one start. So an unbind parks each guest on the
 * old factory's CPUs (its registers kept here as a CpuState, which is the API's class,
 * not the CPU bundle's) before it returns, and the guest waits parked until a factory
 * is bound again. A retiring switcher likewise hands its guests back at a boundary and
 * keeps its collaborators for the turns still in flight (ServiceSlot.retire); a guest
 * parked at that moment takes its registers to the successor through ParkedCpus.
 *
 * Configuration (PID dev.lguest.switcher, {@link SwitcherConfig}): the slice budget, a
 * minimum timer period and exit logging; a change applies to guests set up after it,
 * without restarting the switcher. Observability: every exit is counted in the guest's
 * statistics and, while a JFR recording enables it, committed as a GuestExitEvent
 * (the disabled cost is one flag test); a guest's end is a GuestKilledEvent.
 */
@Component(service = Switcher.class, configurationPid = SwitcherSettings.PID)
@Designate(ocd = SwitcherConfig.class)
public final class SwitcherComponent implements Switcher {
    /** Instructions per slice by default: how long a guest runs before the loop looks around. */
    static final long SLICE = 2_000_000;
    /**
     * Instructions per nanosecond we assume when a clock deadline is near, to end the
     * slice at about that moment without waiting for the timer thread. Overshooting
     * the speed only ends slices early (the loop looks at the clock and runs again);
     * the timer thread's wake-up is the backstop if the CPU is slower.
     */
    static final double INSTRUCTIONS_PER_NANOSECOND = 0.2;
    /** The shortest slice worth switching into the guest for. */
    static final long MIN_SLICE = 256;
    private static final long SERVICE_WAIT_SECONDS = 30;
    private static final long MIGRATION_WAIT_SECONDS = 10;
    /** How long a CPU's unbind lets a running guest move to the new CPU on its own thread. */
    private static final long SELF_MOVE_WAIT_MILLIS = 50;
    private static final long SELF_MOVE_POLL_NANOS = 100_000;
    private static final System.Logger LOG = System.getLogger(SwitcherComponent.class.getName());

    private final ServiceSlot<X86CpuFactory> cpus = new ServiceSlot<>("CPU");
    private final ServiceSlot<ShadowPageTables> mmus = new ServiceSlot<>("shadow page table");
    private final ServiceSlot<SegmentManager> segments = new ServiceSlot<>("segment");
    private final ServiceSlot<TrapDelivery> traps = new ServiceSlot<>("trap delivery");
    private final ServiceSlot<HypercallHandler> hypercalls = new ServiceSlot<>("hypercall");

    /** Every guest this switcher set up or adopted, with what the switcher keeps for it. */
    private final Map<Guest, GuestSlot> guests = new ConcurrentHashMap<>();
    /** Set when this switcher is being replaced: running guests are handed back. */
    private volatile boolean retired;
    /** How many guests are inside run() now. */
    private final java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger();
    private final GuestClock clock = new GuestClock();
    /** The configuration now; each guest takes a copy when this switcher takes it on. */
    private volatile SwitcherSettingsValue settings = SwitcherSettingsValue.DEFAULTS;

    /** The switcher's own per-guest record: its pages, and the lock held around a run of the CPU. */
    private static final class GuestSlot {
        final ReentrantLock cpuLock = new ReentrantLock();
        /** The configuration this guest runs with (the switcher's when it took the guest on). */
        final SwitcherSettingsValue settings;
        /** When IRQ 0 was last raised (System.nanoTime()), for the minimum timer period. */
        long lastClockIrq;
        boolean clockFired;
        SwitcherPages pages;
        /** The CPU state while no CPU is bound (between an unbind and the next bind). */
        CpuState parked;
        /** The shadow root last loaded into CR3, and the CPU it was loaded into. */
        int loadedRoot;
        X86Cpu loadedInto;

        GuestSlot(SwitcherSettingsValue settings) {
            this.settings = settings;
        }
    }

    /** ConfigAdmin's configuration at activation (the defaults when there is none). */
    @Activate
    void activate(SwitcherConfig config) {
        settings = SwitcherSettingsValue.of(config);
    }

    /** A changed configuration: new guests get it, no restart and no hand-over needed. */
    @Modified
    void modified(SwitcherConfig config) {
        settings = SwitcherSettingsValue.of(config);
    }

    /** The configuration new guests get now. */
    SwitcherSettingsValue settings() {
        return settings;
    }

    /** Sets the configuration directly (tests, and callers without ConfigAdmin). */
    void configure(SwitcherSettingsValue value) {
        settings = value;
    }

    /**
     * This switcher is going away (its bundle stops or is replaced). Every guest in
     * run() returns HANDED_OVER at its next instruction boundary, and /dev/lguest runs
     * it on the switcher bound now, which adopts it; what this one kept for its guests
     * (the switcher pages) is freed once none of them is inside.
     */
    @Deactivate
    void deactivate() {
        retired = true;
        // Turns in flight finish with what is bound now, and a turn waiting for a
        // collaborator in a gap gives up and hands the guest over (the framework binds
        // nothing to a deactivated component).
        for (ServiceSlot<?> slot : List.of(cpus, mmus, segments, traps, hypercalls)) {
            slot.retire();
        }
        guests.keySet().forEach(Guest::wake);
        // Before a successor can adopt them: a guest parked with no CPU leaves its
        // registers where that successor looks (a turn in flight does it as it ends).
        guests.forEach((g, slot) -> {
            try {
                if (slot.cpuLock.tryLock(MIGRATION_WAIT_SECONDS, TimeUnit.SECONDS)) {
                    try {
                        leaveParkedRegisters(g, slot);
                    } finally {
                        slot.cpuLock.unlock();
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(MIGRATION_WAIT_SECONDS);
        try {
            while (running.get() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // A successor points the MMU at pages of its own when it adopts a guest, before
        // that guest runs again, so ours can go even if it has not happened yet.
        for (Map.Entry<Guest, GuestSlot> e : guests.entrySet()) {
            GuestSlot slot = e.getValue();
            if (slot.pages != null) {
                slot.pages.free(e.getKey().bus);
            }
            slot.loadedInto = null;
        }
        guests.clear();
        clock.close();
    }

    /**
     * A guest leaving this switcher (it retires) with no CPU: its registers go where
     * the successor looks for them. Called with the guest's CPU lock held.
     */
    private static void leaveParkedRegisters(Guest guest, GuestSlot slot) {
        if (slot.parked != null && guest.cpu() == null) {
            ParkedCpus.park(guest, slot.parked);
        }
        slot.parked = null;
    }

    /** The guest goes back to /dev/lguest for the successor, at a boundary. */
    private static long handOver(Guest guest, GuestSlot slot) {
        slot.cpuLock.lock();
        try {
            leaveParkedRegisters(guest, slot);
        } finally {
            slot.cpuLock.unlock();
        }
        return HANDED_OVER;
    }

    // ---- references ----

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindCpuFactory(X86CpuFactory factory) {
        if (!guests.isEmpty()) {
            // Guests will move onto this factory's CPUs: its code is loaded here, on
            // the binding thread, rather than on theirs (see CpuFirstRun).
            CpuFirstRun.Result first = CpuFirstRun.run(factory);
            if (first.stoppedBy() != null) {
                LOG.log(System.Logger.Level.WARNING, "the first run of " + factory.name() + "'s CPU went wrong: "
                        + first.stoppedBy() + " (guests move onto it all the same)");
            }
        }
        cpus.bind(factory);
        // Guests move to the new CPU at their next boundary; wake them so it is soon.
        guests.keySet().forEach(Guest::wake);
    }

    void unbindCpuFactory(X86CpuFactory factory) {
        cpus.unbind(factory);
        // Nobody may run on the old factory's CPUs, or make one, once its bundle is
        // going (after the refresh its classes cannot even load): move each guest off
        // them now, at an instruction boundary. Every guest, not only those whose CPU
        // came from this factory: a turn that read the factory just before the unbind
        // may be about to make a CPU from it; it holds the guest's CPU lock while it
        // does, so taking the lock waits that out, and the check after it sees the result.
        // A running guest on the old CPU, woken by the replacement's bind, moves itself
        // at its next turn; taking its CPU lock from here first would stop it until
        // this thread is scheduled again (milliseconds on a busy host), so it gets a
        // moment to do that before the lock is taken.
        for (Map.Entry<Guest, GuestSlot> e : guests.entrySet()) {
            Guest g = e.getKey();
            g.wake();
            if (g.cpuMaker == factory) {
                awaitSelfMove(g, factory);
            }
            migrate(g, e.getValue(), factory, MIGRATION_WAIT_SECONDS);
        }
    }

    /** Waits up to {@link #SELF_MOVE_WAIT_MILLIS} for a guest to leave {@code factory}'s CPU itself. */
    private void awaitSelfMove(Guest guest, X86CpuFactory factory) {
        if (cpus.get() == null || running.get() == 0) {
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SELF_MOVE_WAIT_MILLIS);
        // Sleep between looks rather than spin: on a two-core host a spinning swapper
        // takes the core the guest needs to make the very move we are waiting for.
        while (guest.cpuMaker == factory && !guest.isDead() && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(SELF_MOVE_POLL_NANOS);
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindPageTables(ShadowPageTables s) {
        mmus.bind(s);
    }

    void unbindPageTables(ShadowPageTables s) {
        mmus.unbind(s);
        awaitTurnsInFlight();
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindSegments(SegmentManager s) {
        segments.bind(s);
    }

    void unbindSegments(SegmentManager s) {
        segments.unbind(s);
        awaitTurnsInFlight();
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindTraps(TrapDelivery s) {
        traps.bind(s);
    }

    void unbindTraps(TrapDelivery s) {
        traps.unbind(s);
        awaitTurnsInFlight();
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindHypercalls(HypercallHandler s) {
        hypercalls.bind(s);
    }

    void unbindHypercalls(HypercallHandler s) {
        hypercalls.unbind(s);
        awaitTurnsInFlight();
    }

    /**
     * A collaborator is going away (its bundle stops): let every turn that may have
     * taken it from its slot end before the unbind returns, so that nothing calls into
     * it once its bundle is stopped (after an update's refresh its classes can no
     * longer even be loaded). Every call into a collaborator (ours, and the traps' and
     * hypercalls' into theirs) happens inside a turn, under the guest's CPU lock.
     * A turn waiting out a gap (ours, or the traps' or hypercalls' wait for this very
     * collaborator's replacement) keeps its lock but calls into nothing, so it is not
     * waited for: the replacement it waits for comes only after this unbind returns.
     * A turn held anywhere else for long is a swap of two components at once, and
     * this one then goes on after a while rather than hang.
     */
    private void awaitTurnsInFlight() {
        if (retired) {
            return;
        }
        for (Map.Entry<Guest, GuestSlot> e : guests.entrySet()) {
            ReentrantLock turn = e.getValue().cpuLock;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(MIGRATION_WAIT_SECONDS);
            try {
                while (!turn.tryLock(1, TimeUnit.MILLISECONDS)) {
                    if (SwapGap.isWaiting(e.getKey().owner) || System.nanoTime() - deadline > 0) {
                        break;
                    }
                }
                if (turn.isHeldByCurrentThread()) {
                    turn.unlock();
                }
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    // ---- setting a guest up ----

    @Override
    public void initialize(Guest guest, int pgdir, int start) {
        GuestSlot slot = new GuestSlot(settings);
        guests.put(guest, slot);
        try {
            slot.pages = SwitcherPages.allocate(guest);
            await(segments).setupGuestGdt(guest);
            await(mmus).init(guest, pgdir);
            if (guest.isDead()) {
                return;
            }
            // lguest_arch_setup_regs: ring-1 kernel segments, interrupts on, eip at the
            // start; %esi stays 0, pointing at boot_params.
            CpuState s = new CpuState();
            s.eip = start;
            s.eflags = X86.IF | X86.EFLAGS_FIXED;
            SegmentManager seg = await(segments);
            SegmentCache code = seg.cacheFor(guest, Lguest.KERNEL_CS);
            SegmentCache data = seg.cacheFor(guest, Lguest.KERNEL_DS);
            s.setSegment(SegmentRegister.CS, code);
            s.setSegment(SegmentRegister.DS, data);
            s.setSegment(SegmentRegister.ES, data);
            s.setSegment(SegmentRegister.SS, data);
            setHostOwned(s);
            s.cr3 = await(mmus).shadowRoot(guest);
            slot.parked = s;
        } catch (GuestMemoryFault | InterruptedException | MissingComponent | HandOver | IllegalStateException e) {
            guest.kill("cannot set the guest up: " + e.getMessage());
        }
    }

    /**
     * What in a CPU's state is the host's, not the guest's: the switcher's GDT, IDT and
     * TSS, paging and protection on, every vector to the host until the guest's IDT is
     * copied in. A guest's first registers start from it, and so do restored ones.
     */
    static void setHostOwned(CpuState s) {
        s.gdtBase = SwitcherPages.GDT_ADDRESS;
        s.gdtLimit = SwitcherPages.GDT_LIMIT;
        s.idtBase = SwitcherPages.IDT_ADDRESS;
        s.idtLimit = SwitcherPages.IDT_LIMIT;
        s.ldtr = SegmentCache.NULL;
        s.tr = SwitcherPages.taskRegister();
        s.cr0 = X86.CR0_PE | X86.CR0_ET | X86.CR0_NE | X86.CR0_WP | X86.CR0_PG;
        s.cr4 = 0;
        for (int v = 0; v < Lguest.IDT_ENTRIES; v++) {
            s.setHostVector(v, true);
        }
    }

    @Override
    public void release(Guest guest) {
        recordEnd(guest);
        GuestSlot slot = guests.remove(guest);
        clock.forget(guest);
        ShadowPageTables mmu = mmus.get();
        if (mmu != null) {
            mmu.release(guest);
        }
        if (slot != null && slot.pages != null) {
            slot.pages.free(guest.bus);
        }
        guest.setCpu(null, null);
    }

    // ---- the run loop ----

    @Override
    public long run(Guest guest) {
        running.incrementAndGet();
        try {
            GuestSlot slot = guests.get(guest);
            if (retired) {
                return slot == null ? HANDED_OVER : handOver(guest, slot);
            }
            if (slot == null) {
                // A switcher that replaced the one that set the guest up: adopt it.
                slot = adopt(guest);
            }
            return runLoop(guest, slot);
        } catch (RuntimeException bug) {
            // Whatever a guest does, no exception may leave the run: the Launcher would
            // print it as the guest's cause of death, and a host that throws on guest
            // input has a hole. The guest that found the bug dies with a plain reason;
            // the details are for the log.
            LOG.log(System.Logger.Level.ERROR, "guest " + guest.id() + " stopped by a host failure", bug);
            guest.kill("host failure while running the guest");
            return -Errno.ENOENT;
        } finally {
            running.decrementAndGet();
        }
    }

    private long runLoop(Guest guest, GuestSlot slot) {
        SwitcherSettingsValue config = slot.settings;
        try {
            while (!guest.isDead()) {
                if (retired) {
                    return handOver(guest, slot);
                }
                // One turn of the loop is one step of the guest: run its CPU, then change
                // the CPU's state for what happened (deliver a trap, do a hypercall). A CPU
                // swap must not fall between the two, or the change lands on the old CPU
                // and is lost: so the CPU lock is held for the whole turn, and a swap
                // (migrate) happens only between turns, or while the guest sleeps.
                slot.cpuLock.lock();
                try {
                    // Everything in a turn reads or changes the CPU (a hypercall's
                    // registers, an interrupt's frame), so a guest parked by an unbind
                    // gets its CPU first, waiting for a factory if none is bound.
                    if (guest.cpu() == null || guest.cpuMaker != cpus.get()) {
                        currentCpu(guest, slot);
                    }
                    if (guest.hypercallPending) {
                        doHypercalls(guest, config);
                    }
                    if (guest.pendingNotify != 0) {
                        guest.statistics.countExit(Exit.NOTIFY);
                        GuestExitEvent event = new GuestExitEvent();
                        finishExit(guest, config, event, Exit.NOTIFY, -1, 0, 0,
                                Integer.toUnsignedLong(guest.pendingNotify), 0);
                        return Integer.toUnsignedLong(guest.pendingNotify);
                    }
                    if (guest.isDead()) {
                        break;
                    }
                    if (guest.isBrokenOut()) {
                        return -Errno.EAGAIN;
                    }
                    if (config.clockMinPeriodNanos() == 0) {
                        clock.tick(guest);
                    } else {
                        tickNoSoonerThanMinimum(guest, slot, config.clockMinPeriodNanos());
                    }
                    writeTimestamp(guest);
                    await(traps).maybeDeliverInterrupt(guest);
                    if (guest.isDead()) {
                        break;
                    }
                    if (guest.halted) {
                        guest.statistics.countExit(Exit.HALT);
                        GuestExitEvent event = new GuestExitEvent();
                        event.begin();
                        slot.cpuLock.unlock();
                        try {
                            guest.sleep(guest.clockDeadline);
                        } finally {
                            slot.cpuLock.lock();
                        }
                        finishExit(guest, config, event, Exit.HALT, -1, 0, 0, 0, 0);
                        continue;
                    }
                    CpuExit exit = runCpu(guest, slot);
                    if (exit != null) {
                        handleExit(guest, config, exit);
                    }
                    if (Thread.interrupted()) {
                        return -Errno.EINTR;
                    }
                } finally {
                    slot.cpuLock.unlock();
                }
            }
            return -Errno.ENOENT;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -Errno.EINTR;
        } catch (GuestMemoryFault e) {
            guest.kill(String.format("bad guest memory access %#x len %d", e.address(), e.length()));
            return -Errno.ENOENT;
        } catch (MissingComponent e) {
            guest.kill(e.getMessage());
            return -Errno.ENOENT;
        } catch (HandOver e) {
            return handOver(guest, slot);
        }
    }

    /**
     * The guest's wall clock: lguest writes the time into lguest_data before it looks
     * for interrupts, since a guest without a trustworthy TSC (tsc_khz 0) has no
     * other clock than this and the timer interrupt.
     */
    private static void writeTimestamp(Guest guest) {
        if (guest.lguestData == 0) {
            return;
        }
        java.time.Instant now = java.time.Instant.now();
        long data = Integer.toUnsignedLong(guest.lguestData);
        guest.memory.write32(data + LguestData.TIME_SEC, (int) now.getEpochSecond());
        guest.memory.write32(data + LguestData.TIME_NSEC, now.getNano());
    }

    private GuestSlot adopt(Guest guest) {
        GuestSlot slot = new GuestSlot(settings);
        slot.pages = SwitcherPages.allocate(guest);
        GuestSlot raced = guests.putIfAbsent(guest, slot);
        if (raced != null) {
            slot.pages.free(guest.bus);
            return raced;
        }
        return slot;
    }

    /**
     * The world switch: bring the guest's CPU up to date with what the host changed,
     * run it for a slice, and return why it stopped. Null if there is no CPU to run.
     */
    private CpuExit runCpu(Guest guest, GuestSlot slot) throws InterruptedException {
        // The caller holds slot.cpuLock (see runLoop).
        {
            X86Cpu cpu = currentCpu(guest, slot);
            if (cpu == null) {
                return null;
            }
            // Taken after the wait for a CPU, never held across one: an update of
            // the MMU or traps bundle during that wait would leave us calling into a
            // revision the framework has refreshed away.
            ShadowPageTables mmu = await(mmus);
            TrapDelivery trapService = await(traps);
            copyInGuestInfo(guest, slot, trapService, cpu);
            setTaskSwitched(guest, cpu);
            // Loading CR3 flushes the TLB, so only when the shadow root changed (a new
            // page table, a new MMU) or the guest moved to another CPU. The MMU
            // invalidates what it changes inside a root itself.
            int root = mmu.shadowRoot(guest);
            if (root != slot.loadedRoot || cpu != slot.loadedInto) {
                cpu.setCr3(root);
                slot.loadedRoot = root;
                slot.loadedInto = cpu;
            }
            CpuExit exit = cpu.run(sliceUntilClock(guest, slot.settings.sliceInstructions()));
            guest.statistics.addInstructions(exit.instructions());
            return exit;
        }
    }

    /**
     * How long to run before looking at the clock again: a full slice, or, when the
     * guest's timer is due sooner, about as many instructions as fit before it. This
     * is what gives SET_CLOCKEVENT its resolution: no thread hand-off is needed for the
     * CPU to stop in time.
     */
    static long sliceUntilClock(Guest guest) {
        return sliceUntilClock(guest, SLICE);
    }

    /** {@link #sliceUntilClock(Guest)} with a configured budget in place of {@link #SLICE}. */
    static long sliceUntilClock(Guest guest, long slice) {
        long deadline = guest.clockDeadline;
        if (deadline == 0) {
            return slice;
        }
        long nanos = deadline - System.nanoTime();
        return Math.clamp((long) (nanos * INSTRUCTIONS_PER_NANOSECOND), Math.min(MIN_SLICE, slice), slice);
    }

    /**
     * The clock's tick with a configured minimum period: a deadline sooner than the
     * minimum after the last IRQ 0 is moved out to it (the guest's timer fires late,
     * as an overloaded host's would), so a guest cannot make the host deliver timer
     * interrupts faster than that. Runs on the guest's thread, which alone sets the
     * deadline (SET_CLOCKEVENT) besides the clock.
     */
    private void tickNoSoonerThanMinimum(Guest guest, GuestSlot slot, long minimumNanos) {
        long deadline = guest.clockDeadline;
        if (deadline != 0 && slot.clockFired && deadline - (slot.lastClockIrq + minimumNanos) < 0) {
            deadline = slot.lastClockIrq + minimumNanos;
            guest.clockDeadline = deadline;
        }
        clock.tick(guest);
        if (deadline != 0 && guest.clockDeadline == 0) {
            slot.lastClockIrq = System.nanoTime();
            slot.clockFired = true;
        }
    }

    /**
     * The guest's CPU from the bound factory, moving the guest onto it if it still runs
     * on another's (or parked with none). Called with the slot's CPU lock held.
     */
    private X86Cpu currentCpu(Guest guest, GuestSlot slot) throws InterruptedException {
        // The factory is read with the lock held, and used before it is let go: an
        // unbind waits for the lock, so it never returns while we hold its factory.
        X86CpuFactory factory;
        while ((factory = cpus.get()) == null) {
            slot.cpuLock.unlock();
            try {
                await(cpus);
            } finally {
                slot.cpuLock.lock();
            }
        }
        if (guest.cpuMaker != factory || guest.cpu() == null) {
            moveToFactory(guest, slot, factory);
        }
        return guest.cpu();
    }

    /** Hands the guest's CPU state to a CPU of {@code factory} (or parks it if null). */
    private static void moveToFactory(Guest guest, GuestSlot slot, X86CpuFactory factory) {
        X86Cpu old = guest.cpu();
        CpuState state = old != null ? old.saveState() : ParkedCpus.take(guest);
        if (state == null) {
            // Registers parked here. ParkedCpus has those a retired switcher left for
            // us, or a restored guest's (CpuSection), which replace what INITIALIZE set.
            state = slot.parked;
        }
        // Nothing of the old CPU may stay referenced: its bundle's class loader is
        // about to be thrown away.
        slot.loadedInto = null;
        if (factory == null) {
            slot.parked = state;
            guest.setCpu(null, null);
            return;
        }
        if (state == null) {
            guest.kill("its CPU state was lost in a swap");
            return;
        }
        X86Cpu fresh = factory.create(guest.bus);
        fresh.loadState(state);
        guest.setCpu(fresh, factory);
        slot.parked = null;
    }

    /**
     * Moves a guest off a CPU of {@code leaving} from another thread (that factory is
     * going away): onto the bound factory's, or parked if there is none.
     */
    private void migrate(Guest guest, GuestSlot slot, X86CpuFactory leaving, long seconds) {
        try {
            if (slot.cpuLock.tryLock(seconds, TimeUnit.SECONDS)) {
                try {
                    if (guest.cpuMaker == leaving) {
                        moveToFactory(guest, slot, cpus.get());
                    }
                } finally {
                    slot.cpuLock.unlock();
                }
            } else {
                guest.kill("its CPU could not be stopped for a swap");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The guest's TS (the TS hypercall) in the real CR0.TS, as lguest sets it before
     * entering a guest that asked for it: the guest's next FPU instruction then
     * raises #NM, which handleVector passes on to the guest. We never clear it here:
     * once the guest cleared its TS, the #NM still due comes to us and we clear it.
     */
    private static void setTaskSwitched(Guest guest, X86Cpu cpu) {
        if (!guest.taskSwitched) {
            return;
        }
        CpuState s = cpu.saveState();
        if ((s.cr0 & X86.CR0_TS) == 0) {
            s.cr0 |= X86.CR0_TS;
            cpu.loadState(s);
        }
    }

    /** lguest's copy_in_guest_info: refresh what the guest changed since the last run. */
    private static void copyInGuestInfo(Guest guest, GuestSlot slot, TrapDelivery trapService, X86Cpu cpu) {
        if (guest.segments.changed) {
            guest.segments.changed = false;
            slot.pages.copyGdt(guest);
        }
        if (guest.traps.changed) {
            guest.traps.changed = false;
            boolean[] direct = new boolean[Lguest.IDT_ENTRIES];
            CpuState s = cpu.saveState();
            for (int v = 0; v < Lguest.IDT_ENTRIES; v++) {
                direct[v] = trapService.isDirectTrap(guest, v);
                s.setHostVector(v, !direct[v]);
            }
            slot.pages.copyIdt(guest, direct);
            cpu.loadState(s);
        }
        slot.pages.setRing1Stack(guest.traps.ss1, guest.traps.esp1);
    }

    /** The hypercall exit: the guest trapped with int $0x1f; do what it asked. */
    private void doHypercalls(Guest guest, SwitcherSettingsValue config) throws InterruptedException {
        guest.statistics.countExit(Exit.HYPERCALL);
        GuestExitEvent event = new GuestExitEvent();
        int number = -1;
        long eip = 0;
        X86Cpu cpu = guest.cpu();
        if (cpu != null && (event.isEnabled() || config.loggedExits() != 0)) {
            number = cpu.gpr(X86.EAX);
            eip = Integer.toUnsignedLong(cpu.eip());
        }
        event.begin();
        await(hypercalls).doHypercalls(guest);
        finishExit(guest, config, event, Exit.HYPERCALL, number, 0, eip, 0, 0);
    }

    /**
     * What the exits of a CPU run count as, or null for one counted elsewhere (int
     * $0x1f counts as HYPERCALL when the hypercall is done) or not at all (a triple fault).
     */
    static Exit kindOf(CpuExit exit) {
        return switch (exit.reason()) {
            case INTERRUPTED -> Exit.HOST_INTERRUPT;
            case BUDGET -> Exit.BUDGET;
            case SHUTDOWN -> null;
            case VECTOR -> switch (exit.vector()) {
                case X86.GP -> Exit.GENERAL_PROTECTION;
                case X86.PF_VECTOR -> Exit.PAGE_FAULT;
                case X86.NM -> Exit.DEVICE_NOT_AVAILABLE;
                case Lguest.TRAP_ENTRY -> null;
                default -> exit.vector() >= Lguest.FIRST_EXTERNAL_VECTOR ? Exit.HOST_INTERRUPT : Exit.OTHER_TRAP;
            };
        };
    }

    /**
     * lguest_arch_handle_trap: count the exit, deal with it, and (only when a recording
     * wants it, or the exit is configured to be logged) say so.
     */
    private void handleExit(Guest guest, SwitcherSettingsValue config, CpuExit exit) throws InterruptedException {
        Exit kind = kindOf(exit);
        if (kind == null) {
            dispatchExit(guest, exit);
            return;
        }
        guest.statistics.countExit(kind);
        GuestExitEvent event = new GuestExitEvent();
        long eip = 0;
        if (event.isEnabled() || config.logs(kind)) {
            X86Cpu cpu = guest.cpu();
            eip = cpu == null ? 0 : Integer.toUnsignedLong(cpu.eip());
        }
        event.begin();
        dispatchExit(guest, exit);
        finishExit(guest, config, event, kind, exit.reason() == dev.lguest.api.cpu.ExitReason.VECTOR
                        ? exit.vector() : -1, exit.errorCode(), eip,
                kind == Exit.PAGE_FAULT ? Integer.toUnsignedLong(guest.lastPageFault) : 0, exit.instructions());
    }

    /**
     * The end of an exit's handling: the log line if this kind is logged, and the JFR
     * event if a recording enabled it and the exit took at least its threshold.
     */
    private static void finishExit(Guest guest, SwitcherSettingsValue config, GuestExitEvent event, Exit kind,
                                   int vector, int errorCode, long eip, long address, long instructions) {
        if (config.loggedExits() != 0 && config.logs(kind)) {
            LOG.log(System.Logger.Level.INFO, () -> String.format(
                    "guest %d exit %s vector %d error %#x eip %#x address %#x after %d instructions",
                    guest.id(), kind, vector, errorCode, eip, address, instructions));
        }
        if (event.shouldCommit()) {
            event.guestId = guest.id();
            event.reason = kind.name();
            event.vector = vector;
            event.errorCode = errorCode;
            event.eip = eip;
            event.address = address;
            event.instructions = instructions;
            event.commit();
        }
    }

    /** A guest's end, for a recording: why, and what it had done. */
    private static void recordEnd(Guest guest) {
        GuestKilledEvent event = new GuestKilledEvent();
        if (!event.isEnabled() || !guest.isDead()) {
            return;
        }
        event.guestId = guest.id();
        event.reason = guest.deadReason();
        event.poweredOff = Lguest.POWER_DOWN.equals(event.reason);
        event.instructions = guest.statistics.instructions();
        long exits = 0;
        for (Exit e : Exit.values()) {
            exits += guest.statistics.exits(e);
        }
        event.exits = exits;
        event.commit();
    }

    /** What to do about the reason the guest stopped (it is counted already). */
    private void dispatchExit(Guest guest, CpuExit exit) throws InterruptedException {
        switch (exit.reason()) {
            case INTERRUPTED, BUDGET -> {
            }
            case SHUTDOWN -> guest.kill(String.format("triple fault at %#x", guest.cpu().eip()));
            case VECTOR -> handleVector(guest, exit.vector(), exit.errorCode());
        }
    }

    private void handleVector(Guest guest, int vector, int errorCode) throws InterruptedException {
        switch (vector) {
            case X86.GP -> {
                // An in or out at ring 1: skip it, as if nothing answered.
                if (errorCode == 0 && InstructionEmulator.skipPortIo(guest, await(mmus))) {
                    return;
                }
            }
            case X86.PF_VECTOR -> {
                int address = guest.cpu().saveState().cr2;
                guest.lastPageFault = address;
                // Usually the guest's mapping is fine and only our shadow lacks it.
                ShadowPageTables mmu = await(mmus);
                if (mmu.demandPage(guest, address, errorCode)) {
                    return;
                }
                // The CPU walked our shadow, not the guest's tables, and the shadow may
                // just not have the page yet (it starts empty after an MMU swap, or a
                // flush): then it says "not present" where the guest's own CPU would
                // say "protection". The guest must see what its tables give.
                errorCode = mmu.guestPhysical(guest, address) >= 0
                        ? errorCode | X86.PF_PROT : errorCode & ~X86.PF_PROT;
                // The guest must see it: it reads the address from lguest_data.cr2.
                if (guest.lguestData != 0) {
                    guest.memory.write32(Integer.toUnsignedLong(guest.lguestData) + LguestData.CR2, address);
                }
            }
            case X86.NM -> {
                // The guest did not ask for TS: its FPU state is live, just clear TS.
                if (!guest.taskSwitched) {
                    CpuState s = guest.cpu().saveState();
                    s.cr0 &= ~X86.CR0_TS;
                    guest.cpu().loadState(s);
                    return;
                }
            }
            case Lguest.TRAP_ENTRY -> {
                guest.hypercallPending = true;
                return;
            }
            default -> {
                if (vector >= Lguest.FIRST_EXTERNAL_VECTOR) {
                    // A real interrupt on the host side: nothing for the guest.
                    return;
                }
            }
        }
        if (!await(traps).deliverTrap(guest, vector, X86.hasErrorCode(vector), errorCode)) {
            guest.kill(String.format("unhandled trap %d at %#x (%#x)", vector, guest.cpu().eip(),
                    vector == X86.PF_VECTOR ? guest.lastPageFault : errorCode));
        }
    }

    /** A collaborator that stayed away longer than a swap may take: the guest cannot go on. */
    private static final class MissingComponent extends RuntimeException {
        private static final long serialVersionUID = 1L;

        MissingComponent(String what) {
            super("no " + what + " component is available", null, false, false);
        }
    }

    /**
     * A turn of a retiring switcher that needs a collaborator which was away when it
     * retired: nothing will be bound to it again, so the guest goes to the successor
     * as it is. Faults are simply raised again there; the state is all in the Guest.
     */
    private static final class HandOver extends RuntimeException {
        private static final long serialVersionUID = 1L;

        HandOver() {
            super("the switcher was replaced", null, false, false);
        }
    }

    private <T> T await(ServiceSlot<T> slot) throws InterruptedException {
        // A guest thread waiting here holds its CPU lock but no collaborator taken
        // before: awaitTurnsInFlight need not wait for it (SwapGap knows it waits).
        T service = slot.await(SERVICE_WAIT_SECONDS, TimeUnit.SECONDS);
        if (service == null) {
            if (slot.isRetired()) {
                throw new HandOver();
            }
            throw new MissingComponent(slot.toString());
        }
        return service;
    }

    /** The guests this switcher runs (for tools). */
    java.util.Set<Guest> guests() {
        return guests.keySet();
    }
}
