package dev.lguest.switcher;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.device.Errno;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.GuestStatistics.Exit;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.guest.LguestData;
import dev.lguest.api.hypercalls.HypercallHandler;
import dev.lguest.api.memory.GuestMemoryFault;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.service.ServiceSlot;
import dev.lguest.api.switcher.Switcher;
import dev.lguest.api.traps.TrapDelivery;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

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
 */
@Component(service = Switcher.class)
public final class SwitcherComponent implements Switcher {
    /** Instructions per slice: how long a guest runs before the loop looks around. */
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

    /** The switcher's own per-guest record: its pages, and the lock held around a run of the CPU. */
    private static final class GuestSlot {
        final ReentrantLock cpuLock = new ReentrantLock();
        SwitcherPages pages;
        /** The CPU state while no CPU is bound (between an unbind and the next bind). */
        CpuState parked;
        /** The shadow root last loaded into CR3, and the CPU it was loaded into. */
        int loadedRoot;
        X86Cpu loadedInto;
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
        guests.keySet().forEach(Guest::wake);
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
            if (e.getValue().pages != null) {
                e.getValue().pages.free(e.getKey().bus);
            }
        }
        guests.clear();
        clock.close();
    }

    // ---- references ----

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindCpuFactory(X86CpuFactory factory) {
        cpus.bind(factory);
        // Guests move to the new CPU at their next boundary; wake them so it is soon.
        guests.keySet().forEach(Guest::wake);
    }

    void unbindCpuFactory(X86CpuFactory factory) {
        cpus.unbind(factory);
        // Nobody may run on the old factory's CPUs once its bundle is going: move each
        // guest off them now, at an instruction boundary.
        for (Map.Entry<Guest, GuestSlot> e : guests.entrySet()) {
            Guest g = e.getKey();
            if (g.cpuMaker == factory) {
                g.wake();
                migrate(g, e.getValue(), MIGRATION_WAIT_SECONDS);
            }
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindPageTables(ShadowPageTables s) {
        mmus.bind(s);
    }

    void unbindPageTables(ShadowPageTables s) {
        mmus.unbind(s);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindSegments(SegmentManager s) {
        segments.bind(s);
    }

    void unbindSegments(SegmentManager s) {
        segments.unbind(s);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindTraps(TrapDelivery s) {
        traps.bind(s);
    }

    void unbindTraps(TrapDelivery s) {
        traps.unbind(s);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindHypercalls(HypercallHandler s) {
        hypercalls.bind(s);
    }

    void unbindHypercalls(HypercallHandler s) {
        hypercalls.unbind(s);
    }

    // ---- setting a guest up ----

    @Override
    public void initialize(Guest guest, int pgdir, int start) {
        GuestSlot slot = new GuestSlot();
        guests.put(guest, slot);
        try {
            slot.pages = SwitcherPages.allocate(guest);
            SegmentManager seg = await(segments);
            ShadowPageTables mmu = await(mmus);
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
            s.gdtBase = SwitcherPages.GDT_ADDRESS;
            s.gdtLimit = SwitcherPages.GDT_LIMIT;
            s.idtBase = SwitcherPages.IDT_ADDRESS;
            s.idtLimit = SwitcherPages.IDT_LIMIT;
            s.tr = SwitcherPages.taskRegister();
            s.cr0 = X86.CR0_PE | X86.CR0_ET | X86.CR0_NE | X86.CR0_WP | X86.CR0_PG;
            s.cr3 = mmu.shadowRoot(guest);
            for (int v = 0; v < Lguest.IDT_ENTRIES; v++) {
                s.setHostVector(v, true);
            }
            slot.parked = s;
        } catch (GuestMemoryFault | InterruptedException | MissingComponent | IllegalStateException e) {
            guest.kill("cannot set the guest up: " + e.getMessage());
        }
    }

    @Override
    public void release(Guest guest) {
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
            if (retired) {
                return HANDED_OVER;
            }
            GuestSlot slot = guests.get(guest);
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
        try {
            while (!guest.isDead()) {
                if (retired) {
                    return HANDED_OVER;
                }
                if (guest.hypercallPending) {
                    guest.statistics.countExit(Exit.HYPERCALL);
                    await(hypercalls).doHypercalls(guest);
                }
                if (guest.pendingNotify != 0) {
                    guest.statistics.countExit(Exit.NOTIFY);
                    return Integer.toUnsignedLong(guest.pendingNotify);
                }
                if (guest.isDead()) {
                    break;
                }
                if (guest.isBrokenOut()) {
                    return -Errno.EAGAIN;
                }
                clock.tick(guest);
                writeTimestamp(guest);
                await(traps).maybeDeliverInterrupt(guest);
                if (guest.isDead()) {
                    break;
                }
                if (guest.halted) {
                    guest.statistics.countExit(Exit.HALT);
                    guest.sleep(guest.clockDeadline);
                    continue;
                }
                CpuExit exit = runCpu(guest, slot);
                if (exit != null) {
                    handleExit(guest, exit);
                }
                if (Thread.interrupted()) {
                    return -Errno.EINTR;
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
        GuestSlot slot = new GuestSlot();
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
        ShadowPageTables mmu = await(mmus);
        TrapDelivery trapService = await(traps);
        slot.cpuLock.lock();
        try {
            X86Cpu cpu = currentCpu(guest, slot);
            if (cpu == null) {
                return null;
            }
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
            CpuExit exit = cpu.run(sliceUntilClock(guest));
            guest.statistics.addInstructions(exit.instructions());
            return exit;
        } finally {
            slot.cpuLock.unlock();
        }
    }

    /**
     * How long to run before looking at the clock again: a full slice, or, when the
     * guest's timer is due sooner, about as many instructions as fit before it. This
     * is what gives SET_CLOCKEVENT its resolution: no thread hand-off is needed for the
     * CPU to stop in time.
     */
    static long sliceUntilClock(Guest guest) {
        long deadline = guest.clockDeadline;
        if (deadline == 0) {
            return SLICE;
        }
        long nanos = deadline - System.nanoTime();
        return Math.clamp((long) (nanos * INSTRUCTIONS_PER_NANOSECOND), MIN_SLICE, SLICE);
    }

    /**
     * The guest's CPU from the bound factory, moving the guest onto it if it still runs
     * on another's (or parked with none). Called with the slot's CPU lock held.
     */
    private X86Cpu currentCpu(Guest guest, GuestSlot slot) throws InterruptedException {
        X86CpuFactory factory = cpus.get();
        if (factory == null) {
            slot.cpuLock.unlock();
            try {
                factory = await(cpus);
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
        CpuState state = old != null ? old.saveState() : slot.parked;
        if (factory == null) {
            slot.parked = state;
            guest.setCpu(null, null);
            return;
        }
        X86Cpu fresh = factory.create(guest.bus);
        fresh.loadState(state);
        guest.setCpu(fresh, factory);
        slot.parked = null;
    }

    /** Moves a guest off its CPU from another thread (its factory is going away). */
    private void migrate(Guest guest, GuestSlot slot, long seconds) {
        try {
            if (slot.cpuLock.tryLock(seconds, TimeUnit.SECONDS)) {
                try {
                    moveToFactory(guest, slot, cpus.get());
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

    /** lguest_arch_handle_trap: what to do about the reason the guest stopped. */
    private void handleExit(Guest guest, CpuExit exit) throws InterruptedException {
        switch (exit.reason()) {
            case INTERRUPTED -> guest.statistics.countExit(Exit.HOST_INTERRUPT);
            case BUDGET -> guest.statistics.countExit(Exit.BUDGET);
            case SHUTDOWN -> guest.kill(String.format("triple fault at %#x", guest.cpu().eip()));
            case VECTOR -> handleVector(guest, exit.vector(), exit.errorCode());
        }
    }

    private void handleVector(Guest guest, int vector, int errorCode) throws InterruptedException {
        switch (vector) {
            case X86.GP -> {
                guest.statistics.countExit(Exit.GENERAL_PROTECTION);
                // An in or out at ring 1: skip it, as if nothing answered.
                if (errorCode == 0 && InstructionEmulator.skipPortIo(guest, await(mmus))) {
                    return;
                }
            }
            case X86.PF_VECTOR -> {
                guest.statistics.countExit(Exit.PAGE_FAULT);
                int address = guest.cpu().saveState().cr2;
                guest.lastPageFault = address;
                // Usually the guest's mapping is fine and only our shadow lacks it.
                if (await(mmus).demandPage(guest, address, errorCode)) {
                    return;
                }
                // The guest must see it: it reads the address from lguest_data.cr2.
                if (guest.lguestData != 0) {
                    guest.memory.write32(Integer.toUnsignedLong(guest.lguestData) + LguestData.CR2, address);
                }
            }
            case X86.NM -> {
                guest.statistics.countExit(Exit.DEVICE_NOT_AVAILABLE);
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
                    guest.statistics.countExit(Exit.HOST_INTERRUPT);
                    return;
                }
                guest.statistics.countExit(Exit.OTHER_TRAP);
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

    private static <T> T await(ServiceSlot<T> slot) throws InterruptedException {
        T service = slot.await(SERVICE_WAIT_SECONDS, TimeUnit.SECONDS);
        if (service == null) {
            throw new MissingComponent(slot.toString());
        }
        return service;
    }

    /** The guests this switcher runs (for tools). */
    java.util.Set<Guest> guests() {
        return guests.keySet();
    }
}
