package dev.lguest.switcher;

import dev.lguest.api.config.SwitcherSettings;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.debug.GuestDebugger;
import dev.lguest.api.device.Errno;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.hypercalls.HypercallHandler;
import dev.lguest.api.memory.GuestMemoryFault;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.service.SwapGap;
import dev.lguest.api.switcher.Switcher;
import dev.lguest.api.traps.TrapDelivery;
import dev.lguest.switcher.Collaborators.HandOver;
import dev.lguest.switcher.Collaborators.MissingComponent;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The switcher: lguest's /dev/lguest-facing core (core.c and the switcher pages),
 * as an OSGi component whose collaborators can all be replaced while guests run.
 *
 * It sets a guest up (its switcher pages, the GDT, the shadow page tables, the
 * registers lguest_arch_setup_regs gives it), runs it (RunLoop, lguest's
 * run_guest(), with the exits handled by TrapHandler, lguest's x86/core.c) and lets
 * it go. The rest of this class is what a swap needs:
 *
 * Every collaborator is a dynamic, greedy reference held in a ServiceSlot
 * (Collaborators). For most, an unbind only waits until no turn of the run loop is
 * calling into the one going away. For the CPU it is more than that: a guest's CPU
 * holds its registers, and CpuHandOver moves each guest onto the new factory's CPUs
 * at an instruction boundary, or parks it when no factory is left (an update in place).
 * A retiring switcher hands its guests back at a boundary and keeps its collaborators
 * for the turns still in flight (ServiceSlot.retire); a guest parked at that moment
 * takes its registers to the successor through ParkedCpus.
 *
 * Configuration (PID dev.lguest.switcher, {@link SwitcherConfig}): the slice budget, a
 * minimum timer period and exit logging; a change applies to guests set up after it,
 * without restarting the switcher. Observability: every exit is counted in the guest's
 * statistics and, while a JFR recording enables it, committed as a GuestExitEvent
 * (the disabled cost is one flag test); a guest's end is a GuestKilledEvent (ExitLog).
 */
@Component(service = Switcher.class, configurationPid = SwitcherSettings.PID)
@Designate(ocd = SwitcherConfig.class)
public final class SwitcherComponent implements Switcher {
    private static final long MIGRATION_WAIT_SECONDS = 10;
    private static final System.Logger LOG = System.getLogger(SwitcherComponent.class.getName());

    private final Collaborators collaborators = new Collaborators();
    /** Every guest this switcher set up or adopted, with what the switcher keeps for it. */
    private final Map<Guest, GuestSlot> guests = new ConcurrentHashMap<>();
    /** Set when this switcher is being replaced: running guests are handed back. */
    private volatile boolean retired;
    /** How many guests are inside run() now. */
    private final AtomicInteger running = new AtomicInteger();
    private final GuestClock clock = new GuestClock();
    private final CpuHandOver cpuHandOver = new CpuHandOver(collaborators, () -> running.get() > 0);
    private final RunLoop runLoop = new RunLoop(collaborators, cpuHandOver, new TrapHandler(collaborators), clock,
            () -> retired);
    /** The configuration now; each guest takes a copy when this switcher takes it on. */
    private volatile SwitcherSettingsValue settings = SwitcherSettingsValue.DEFAULTS;

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
        collaborators.retire();
        guests.keySet().forEach(Guest::wake);
        // Before a successor can adopt them: a guest parked with no CPU leaves its
        // registers where that successor looks (a turn in flight does it as it ends).
        guests.forEach((g, slot) -> {
            try {
                if (slot.cpuLock.tryLock(MIGRATION_WAIT_SECONDS, TimeUnit.SECONDS)) {
                    try {
                        CpuHandOver.leaveParkedRegisters(g, slot);
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
        freePagesOnceIdle();
        clock.close();
    }

    /**
     * A retired switcher's pages go once no turn of its own is in flight: the last run
     * to leave frees them if the deactivation could not wait that long (a turn waiting
     * out a gap in another component), since such a turn still copies the GDT and IDT
     * into them, and freed host pages are soon another guest structure's (a shadow page
     * table). A successor points the MMU at pages of its own when it adopts a guest,
     * before that guest runs again, so ours can go even if that has not happened yet.
     */
    private synchronized void freePagesOnceIdle() {
        if (running.get() > 0) {
            return;
        }
        for (Map.Entry<Guest, GuestSlot> e : guests.entrySet()) {
            freePages(e.getKey(), e.getValue());
            e.getValue().loadedInto = null;
        }
        guests.clear();
    }

    /** Frees a guest's switcher pages, once (a guest's release and a retirement may meet). */
    private synchronized void freePages(Guest guest, GuestSlot slot) {
        if (slot.pages != null) {
            slot.pages.free(guest.bus);
            slot.pages = null;
        }
    }

    // ---- references ----
    //
    // Each collaborator reference is MULTIPLE: every registered implementation is
    // bound, and the slot uses the one a greedy unary reference would (ServiceSlot).
    // With a unary reference, two swaps at once could leave the switcher with none
    // although one was registered: the framework offered only the best candidate,
    // which was itself being stopped, and then never offered the next.

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindCpuFactory(X86CpuFactory factory, Map<String, Object> properties) {
        if (!guests.isEmpty()) {
            // Guests will move onto this factory's CPUs: its code is loaded here, on
            // the binding thread, rather than on theirs (see CpuFirstRun).
            CpuFirstRun.Result first = CpuFirstRun.run(factory);
            if (first.stoppedBy() != null) {
                LOG.log(System.Logger.Level.WARNING, "the first run of " + factory.name() + "'s CPU went wrong: "
                        + first.stoppedBy() + " (guests move onto it all the same)");
            }
        }
        collaborators.cpus.bind(factory, properties);
        // Guests move to the new CPU at their next boundary; wake them so it is soon.
        guests.keySet().forEach(Guest::wake);
    }

    void unbindCpuFactory(X86CpuFactory factory) {
        collaborators.cpus.unbind(factory);
        // Nobody may run on the old factory's CPUs, or make one, once its bundle is
        // going (after the refresh its classes cannot even load): move each guest off
        // them now, at an instruction boundary. Every guest, not only those whose CPU
        // came from this factory: a turn that read the factory just before the unbind
        // may be about to make a CPU from it; it holds the guest's CPU lock while it
        // does, so taking the lock waits that out, and the check after it sees the result.
        guests.forEach((g, slot) -> cpuHandOver.moveOff(g, slot, factory, MIGRATION_WAIT_SECONDS));
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindPageTables(ShadowPageTables s, Map<String, Object> properties) {
        collaborators.mmus.bind(s, properties);
    }

    void unbindPageTables(ShadowPageTables s) {
        collaborators.mmus.unbind(s);
        awaitTurnsInFlight();
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindSegments(SegmentManager s, Map<String, Object> properties) {
        collaborators.segments.bind(s, properties);
    }

    void unbindSegments(SegmentManager s) {
        collaborators.segments.unbind(s);
        awaitTurnsInFlight();
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindTraps(TrapDelivery s, Map<String, Object> properties) {
        collaborators.traps.bind(s, properties);
    }

    void unbindTraps(TrapDelivery s) {
        collaborators.traps.unbind(s);
        awaitTurnsInFlight();
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindHypercalls(HypercallHandler s, Map<String, Object> properties) {
        collaborators.hypercalls.bind(s, properties);
    }

    void unbindHypercalls(HypercallHandler s) {
        collaborators.hypercalls.unbind(s);
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

    /** The debugger, if the build has one (lguest-debugger): consulted at a debugged guest's exits. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindDebugger(GuestDebugger debugger) {
        collaborators.debugger = debugger;
    }

    void unbindDebugger(GuestDebugger debugger) {
        if (collaborators.debugger == debugger) {
            collaborators.debugger = null;
        }
        // A guest held by the departing debugger is let go by it as it deactivates.
        guests.keySet().forEach(Guest::wake);
    }

    // ---- setting a guest up ----

    @Override
    public void initialize(Guest guest, int pgdir, int start) {
        GuestSlot slot = new GuestSlot(guest, settings);
        guests.put(guest, slot);
        try {
            slot.pages = SwitcherPages.allocate(guest);
            SegmentManager seg = collaborators.await(collaborators.segments);
            ShadowPageTables mmu = collaborators.await(collaborators.mmus);
            seg.setupGuestGdt(guest);
            mmu.init(guest, pgdir);
            if (guest.isDead()) {
                return;
            }
            // lguest_arch_setup_regs: ring-1 kernel segments, interrupts on, eip at the
            // start; %esi stays 0, pointing at boot_params.
            CpuState s = new CpuState();
            s.eip = start;
            s.eflags = X86.IF | X86.EFLAGS_FIXED;
            SegmentCache code = seg.cacheFor(guest, Lguest.KERNEL_CS);
            SegmentCache data = seg.cacheFor(guest, Lguest.KERNEL_DS);
            s.setSegment(SegmentRegister.CS, code);
            s.setSegment(SegmentRegister.DS, data);
            s.setSegment(SegmentRegister.ES, data);
            s.setSegment(SegmentRegister.SS, data);
            setHostOwned(s);
            s.cr3 = mmu.shadowRoot(guest);
            slot.parked = s;
            GuestDebugger debugger = collaborators.debugger;
            if (debugger != null) {
                debugger.guestSetUp(guest);
            }
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
        // The guest runs under the host's CR0, and a Linux host sets AM: a guest
        // process that sets EFLAGS.AC gets #AC for a misaligned access. The guest
        // never reads this CR0 (it has its own idea of CR0, kept in lguest_data).
        s.cr0 = X86.CR0_PE | X86.CR0_ET | X86.CR0_NE | X86.CR0_WP | X86.CR0_AM | X86.CR0_PG;
        s.cr4 = 0;
        for (int v = 0; v < Lguest.IDT_ENTRIES; v++) {
            s.setHostVector(v, true);
        }
    }

    @Override
    public void release(Guest guest) {
        ExitLog.recordEnd(guest);
        GuestDebugger debugger = collaborators.debugger;
        if (debugger != null) {
            debugger.guestReleased(guest);
        }
        GuestSlot slot = guests.remove(guest);
        clock.forget(guest);
        ShadowPageTables mmu = collaborators.mmus.get();
        if (mmu != null) {
            mmu.release(guest);
        }
        if (slot != null) {
            freePages(guest, slot);
        }
        guest.setCpu(null, null);
    }

    // ---- running ----

    @Override
    public long run(Guest guest) {
        running.incrementAndGet();
        try {
            GuestSlot slot = guests.get(guest);
            if (retired) {
                return slot == null ? HANDED_OVER : CpuHandOver.handOver(guest, slot);
            }
            if (slot == null) {
                // A switcher that replaced the one that set the guest up: adopt it.
                slot = adopt(guest);
            }
            return runLoop.run(guest, slot);
        } catch (RuntimeException bug) {
            // Whatever a guest does, no exception may leave the run: the Launcher would
            // print it as the guest's cause of death, and a host that throws on guest
            // input has a hole. The guest that found the bug dies with a plain reason;
            // the details are for the log.
            LOG.log(System.Logger.Level.ERROR, "guest " + guest.id() + " stopped by a host failure", bug);
            guest.kill("host failure while running the guest");
            return -Errno.ENOENT;
        } finally {
            if (running.decrementAndGet() == 0 && retired) {
                freePagesOnceIdle();
            }
        }
    }

    private GuestSlot adopt(Guest guest) {
        GuestSlot slot = new GuestSlot(guest, settings);
        slot.pages = SwitcherPages.allocate(guest);
        GuestSlot raced = guests.putIfAbsent(guest, slot);
        if (raced != null) {
            slot.pages.free(guest.bus);
            return raced;
        }
        return slot;
    }

    /** The guests this switcher runs (for tools). */
    java.util.Set<Guest> guests() {
        return guests.keySet();
    }
}
