package dev.lguest.switcher;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.service.SwapGap;
import dev.lguest.api.switcher.ParkedCpus;
import dev.lguest.api.switcher.Switcher;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Moving a guest from one CPU to another when the CPU component is swapped: what a
 * real host never has to do, and the reason the CPU is a service here.
 *
 * A guest's CPU holds its registers, so when a new CPU factory is bound, each guest is
 * stopped at an instruction boundary (between two turns of the run loop, which hold
 * the guest's CPU lock), its state taken from the old CPU as a CpuState value and
 * loaded into a CPU of the new factory. A running guest does that itself at its next
 * turn; the old factory's unbind moves any guest still on its CPUs from the unbinding
 * thread, and returns only when none is left there.
 *
 * An update in place (Bundle.update) has no second copy running: the old revision
 * stops, and only then does the new one start. So the unbind parks each guest (its
 * registers kept in its GuestSlot as a CpuState, which is the API's class, not the
 * CPU bundle's), and the guest waits parked until a factory is bound again. A
 * retiring switcher hands its parked guests' registers to its successor through
 * ParkedCpus.
 */
final class CpuHandOver {
    /** How long a CPU's unbind lets a running guest move to the new CPU on its own thread. */
    private static final long SELF_MOVE_WAIT_MILLIS = 50;
    private static final long SELF_MOVE_POLL_NANOS = 100_000;

    private final Collaborators collaborators;
    /** Whether any guest is inside the run loop now. */
    private final BooleanSupplier guestsRunning;

    CpuHandOver(Collaborators collaborators, BooleanSupplier guestsRunning) {
        this.collaborators = collaborators;
        this.guestsRunning = guestsRunning;
    }

    /**
     * The guest's CPU from the bound factory, moving the guest onto it if it still runs
     * on another's (or parked with none). Called with the slot's CPU lock held.
     */
    X86Cpu currentCpu(Guest guest, GuestSlot slot) throws InterruptedException {
        // The factory is read with the lock held, and used before it is let go: an
        // unbind waits for the lock, so it never returns while we hold its factory.
        X86CpuFactory factory;
        while ((factory = collaborators.cpus.get()) == null) {
            slot.cpuLock.unlock();
            try {
                collaborators.await(collaborators.cpus);
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
    static void moveToFactory(Guest guest, GuestSlot slot, X86CpuFactory factory) {
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
     * A CPU factory is going: moves the guest off its CPUs, onto the bound factory's
     * or parked if there is none. A running guest on the old CPU, woken by the
     * replacement's bind, moves itself at its next turn; taking its CPU lock from here
     * first would stop it until this thread is scheduled again (milliseconds on a busy
     * host), so it gets a moment to do that before the lock is taken.
     */
    void moveOff(Guest guest, GuestSlot slot, X86CpuFactory leaving, long seconds) {
        guest.wake();
        if (guest.cpuMaker == leaving) {
            awaitSelfMove(guest, leaving);
        }
        migrate(guest, slot, leaving, seconds);
    }

    /** Waits up to {@link #SELF_MOVE_WAIT_MILLIS} for a guest to leave {@code factory}'s CPU itself. */
    private void awaitSelfMove(Guest guest, X86CpuFactory factory) {
        if (collaborators.cpus.get() == null || !guestsRunning.getAsBoolean()) {
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SELF_MOVE_WAIT_MILLIS);
        // Sleep between looks rather than spin: on a two-core host a spinning swapper
        // takes the core the guest needs to make the very move we are waiting for.
        while (guest.cpuMaker == factory && !guest.isDead() && System.nanoTime() < deadline) {
            LockSupport.parkNanos(SELF_MOVE_POLL_NANOS);
        }
    }

    /**
     * Moves a guest off a CPU of {@code leaving} from another thread (that factory is
     * going away): onto the bound factory's, or parked if there is none.
     */
    private void migrate(Guest guest, GuestSlot slot, X86CpuFactory leaving, long seconds) {
        try {
            if (stopTurns(guest, slot, TimeUnit.SECONDS.toNanos(seconds))) {
                try {
                    if (guest.cpuMaker == leaving) {
                        X86CpuFactory bound = collaborators.cpus.get();
                        if (bound == leaving) {
                            // A retired switcher keeps what was bound when it retired, and
                            // the guest is its successor's now: its registers go where
                            // the successor looks, and it gives the guest a CPU.
                            moveToFactory(guest, slot, null);
                            leaveParkedRegisters(guest, slot);
                        } else {
                            moveToFactory(guest, slot, bound);
                        }
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
     * Takes the guest's CPU lock, waiting for the turn that holds it to end. A turn
     * that waits out another component's gap holds the lock all the while (it took
     * the guest's CPU before, and goes on with it): it is not stuck, and its wait ends
     * by itself (the replacement comes, or the guest dies for the missing component,
     * with that reason), so the patience starts again while it waits. Only a turn
     * held anywhere else for {@code nanos} fails the swap.
     */
    static boolean stopTurns(Guest guest, GuestSlot slot, long nanos) throws InterruptedException {
        long deadline = System.nanoTime() + nanos;
        while (!slot.cpuLock.tryLock(1, TimeUnit.MILLISECONDS)) {
            if (SwapGap.isWaiting(guest.owner)) {
                deadline = System.nanoTime() + nanos;
            } else if (System.nanoTime() - deadline > 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * A guest leaving a retiring switcher with no CPU: its registers go where the
     * successor looks for them. Called with the guest's CPU lock held.
     */
    static void leaveParkedRegisters(Guest guest, GuestSlot slot) {
        if (slot.parked != null && guest.cpu() == null) {
            ParkedCpus.park(guest, slot.parked);
        }
        slot.parked = null;
    }

    /** The guest goes back to /dev/lguest for the successor, at a boundary. */
    static long handOver(Guest guest, GuestSlot slot) {
        slot.cpuLock.lock();
        try {
            leaveParkedRegisters(guest, slot);
        } finally {
            slot.cpuLock.unlock();
        }
        return Switcher.HANDED_OVER;
    }
}
