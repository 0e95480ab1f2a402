package dev.lguest.switcher;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.debug.GuestDebugger;
import dev.lguest.api.device.Errno;
import dev.lguest.api.events.GuestExitEvent;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.GuestStatistics.Exit;
import dev.lguest.api.guest.LguestData;
import dev.lguest.api.memory.DirtyLog;
import dev.lguest.api.memory.GuestMemoryFault;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.traps.TrapDelivery;
import dev.lguest.switcher.Collaborators.HandOver;
import dev.lguest.switcher.Collaborators.MissingComponent;

import java.time.Instant;
import java.util.function.BooleanSupplier;

/**
 * lguest's run_guest(): the loop a guest's thread spends its life in.
 *
 * Running a guest is a loop: do any hypercall the guest made, hand a NOTIFY to the
 * Launcher, deliver an interrupt if one is pending and the guest can take it, sleep
 * if the guest halted, otherwise switch into the guest (copy in its GDT and IDT if
 * they changed, point CR3 at the shadow tables) and run its CPU until it exits, then
 * look at why it exited. The loop ends when the Launcher is needed: a NOTIFY, the
 * guest's death, or a break; and, here only, when the switcher is replaced and the
 * guest goes to its successor.
 */
final class RunLoop {
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

    private final Collaborators collaborators;
    private final CpuHandOver cpus;
    private final TrapHandler traps;
    private final GuestClock clock;
    /** Whether the switcher is being replaced: its guests go back at a boundary. */
    private final BooleanSupplier retired;

    RunLoop(Collaborators collaborators, CpuHandOver cpus, TrapHandler traps, GuestClock clock,
            BooleanSupplier retired) {
        this.collaborators = collaborators;
        this.cpus = cpus;
        this.traps = traps;
        this.clock = clock;
        this.retired = retired;
    }

    /** Runs the guest until the Launcher is needed; returns what /dev/lguest's read returns. */
    long run(Guest guest, GuestSlot slot) {
        SwitcherSettingsValue config = slot.settings;
        // Back from the Launcher (or new to this switcher): anything may have written.
        slot.ramSuspect = true;
        if (slot.hostWrites == null) {
            slot.hostWrites = new DirtyLog(guest.memory.size());
        }
        guest.memory.logHostWrites(slot.hostWrites);
        // A device names the buffers it fills (through their segments, from its own
        // thread) in hostWrites before it hands them back, and the CPU, perhaps
        // running, is stopped then, before the used index moves. The CPU looks at
        // interrupt() before every block it enters, so a block the guest enters after
        // it could have read the index is entered in a later run, which was told those
        // frames like any other host write; no run needs to re-check everything.
        guest.memory.watchDeviceWrites(() -> {
            X86Cpu running = guest.cpu();
            if (running != null) {
                running.interrupt();
            }
        });
        try {
            while (!guest.isDead()) {
                if (retired.getAsBoolean()) {
                    return CpuHandOver.handOver(guest, slot);
                }
                // One turn of the loop is one step of the guest: run its CPU, then change
                // the CPU's state for what happened (deliver a trap, do a hypercall). A CPU
                // swap must not fall between the two, or the change lands on the old CPU
                // and is lost: so the CPU lock is held for the whole turn, and a swap
                // happens only between turns, or while the guest sleeps.
                slot.cpuLock.lock();
                try {
                    // Everything in a turn reads or changes the CPU (a hypercall's
                    // registers, an interrupt's frame), so a guest parked by an unbind
                    // gets its CPU first, waiting for a factory if none is bound.
                    if (guest.cpu() == null || guest.cpuMaker != collaborators.cpus.get()) {
                        cpus.currentCpu(guest, slot);
                    }
                    if (guest.hypercallPending) {
                        traps.doHypercalls(guest, config);
                    }
                    if (guest.pendingNotify != 0) {
                        guest.statistics.countExit(Exit.NOTIFY);
                        GuestExitEvent event = new GuestExitEvent();
                        ExitLog.finishExit(guest, config, event, Exit.NOTIFY, -1, 0, 0,
                                Integer.toUnsignedLong(guest.pendingNotify), 0);
                        return Integer.toUnsignedLong(guest.pendingNotify);
                    }
                    if (guest.isDead()) {
                        break;
                    }
                    if (guest.isBrokenOut()) {
                        return -Errno.EAGAIN;
                    }
                    GuestDebugger debugger = collaborators.debugger;
                    boolean debugged = debugger != null && debugger.isAttached(guest);
                    if (debugged && debugger.stopRequested(guest)) {
                        // Stopped for gdb at an instruction boundary: the thread waits
                        // holding nothing a swap needs, as a halted guest does.
                        slot.cpuLock.unlock();
                        try {
                            debugger.holdStopped(guest, new DebugStop(guest, slot, collaborators));
                        } finally {
                            slot.cpuLock.lock();
                            slot.ramSuspect = true;
                        }
                        continue;
                    }
                    if (config.clockMinPeriodNanos() == 0) {
                        clock.tick(guest);
                    } else {
                        tickNoSoonerThanMinimum(guest, slot, config.clockMinPeriodNanos());
                    }
                    writeTimestamp(guest);
                    if (!debugged || !debugger.holdsInterrupts(guest)) {
                        collaborators.await(collaborators.traps).maybeDeliverInterrupt(guest);
                    }
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
                        ExitLog.finishExit(guest, config, event, Exit.HALT, -1, 0, 0, 0, 0);
                        continue;
                    }
                    CpuExit exit = runCpu(guest, slot);
                    if (exit != null) {
                        traps.handleExit(guest, config, exit);
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
            return CpuHandOver.handOver(guest, slot);
        } finally {
            // Out of the run, no CPU of ours runs for this guest: the next run starts
            // plain (ramSuspect). The watcher is this revision's class, and the guest
            // may outlive the revision (an update, or a dead guest someone still holds):
            // left in place it would keep the revision's class loader reachable.
            guest.memory.watchDeviceWrites(null);
        }
    }

    /**
     * The world switch: bring the guest's CPU up to date with what the host changed,
     * run it for a slice, and return why it stopped. Null if there is no CPU to run.
     * The caller holds the slot's CPU lock.
     */
    private CpuExit runCpu(Guest guest, GuestSlot slot) throws InterruptedException {
        X86Cpu cpu = cpus.currentCpu(guest, slot);
        if (cpu == null) {
            return null;
        }
        // Taken after the wait for a CPU, never held across one: an update of the MMU
        // or traps bundle during that wait would leave us calling into a revision the
        // framework has refreshed away.
        ShadowPageTables mmu = collaborators.await(collaborators.mmus);
        TrapDelivery trapService = collaborators.await(collaborators.traps);
        GuestDebugger debugger = collaborators.debugger;
        boolean debugged = debugger != null && debugger.isAttached(guest);
        if (debugged != slot.debugRouted) {
            // #DB and #BP go to the host while a debugger holds the guest: the IDT's
            // routing is worked out again, with or without them.
            slot.debugRouted = debugged;
            guest.traps.changed = true;
        }
        TrapHandler.copyInGuestInfo(guest, slot, trapService, cpu);
        TrapHandler.setTaskSwitched(guest, cpu);
        // Loading CR3 flushes the TLB, so only when the CPU does not hold the shadow
        // root already, or the guest moved to another CPU. The MMU invalidates what it
        // changes inside a root itself, and loads a root it switches to (NEW_PGTABLE):
        // loading it again here flushed an empty TLB and unlinked every block once more
        // on each of the guest's address-space switches.
        int root = mmu.shadowRoot(guest);
        if (cpu != slot.loadedInto) {
            slot.ramSuspect = true;
            cpu.setCr3(root);
            slot.loadedInto = cpu;
        } else if (cpu.cr3() != root) {
            cpu.setCr3(root);
        }
        boolean onlyNamedWrites = tellWrites(guest, slot, cpu);
        long started = ExitProfile.ON ? ExitProfile.runStarts() : 0;
        CpuExit exit = cpu.run(sliceUntilClock(guest, slot.settings.sliceInstructions()), onlyNamedWrites);
        if (ExitProfile.ON) {
            ExitProfile.runEnded(started, exit, onlyNamedWrites);
        }
        guest.statistics.addInstructions(exit.instructions());
        return exit;
    }

    /**
     * Names to the CPU each page the host wrote since its last run (trap frames,
     * lguest_data, page table bits, a hypercall's answers, and the buffers a device
     * handed back, from its own thread), and says whether that is all that was
     * written: then the CPU may keep what it decoded from every other page without
     * reading it again, which is most of the cost of an exit on a CPU that caches
     * code. So a stop for the budget, a device's interrupt, a halt or a pending IRQ
     * costs no re-reading; only what the log cannot have seen does (see
     * GuestSlot.ramSuspect), or another switcher's log in GuestMemory.
     */
    private static boolean tellWrites(Guest guest, GuestSlot slot, X86Cpu cpu) {
        for (int frame : slot.hostWrites.drain()) {
            cpu.frameWritten(frame);
        }
        boolean onlyNamed = !slot.ramSuspect && guest.memory.hostWriteLog() == slot.hostWrites;
        slot.ramSuspect = false;
        return onlyNamed;
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
        Instant now = Instant.now();
        long data = Integer.toUnsignedLong(guest.lguestData);
        guest.memory.write32(data + LguestData.TIME_SEC, (int) now.getEpochSecond());
        guest.memory.write32(data + LguestData.TIME_NSEC, now.getNano());
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
}
