package dev.lguest.switcher;

import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.debug.GuestDebugger;
import dev.lguest.api.hypercalls.HypercallHandler;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.service.ServiceSlot;
import dev.lguest.api.traps.TrapDelivery;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The components the switcher calls while it runs a guest: the CPU factory, the
 * shadow page tables, segments, trap delivery and hypercalls. Each sits in a
 * ServiceSlot, so a swap leaves a short gap that a turn waits out rather than fails
 * in, and a slot of a retiring switcher tells its turns to hand the guest over.
 */
final class Collaborators {
    /** How long a turn waits for a missing collaborator before the guest is failed. */
    static final long SERVICE_WAIT_SECONDS = 30;

    final ServiceSlot<X86CpuFactory> cpus = new ServiceSlot<>("CPU");
    final ServiceSlot<ShadowPageTables> mmus = new ServiceSlot<>("shadow page table");
    final ServiceSlot<SegmentManager> segments = new ServiceSlot<>("segment");
    final ServiceSlot<TrapDelivery> traps = new ServiceSlot<>("trap delivery");
    final ServiceSlot<HypercallHandler> hypercalls = new ServiceSlot<>("hypercall");
    /** The debugger, if the build has one: optional, never waited for. */
    volatile GuestDebugger debugger;

    /** The switcher is going: no slot takes a binding again, and waits in them end. */
    void retire() {
        for (ServiceSlot<?> slot : List.of(cpus, mmus, segments, traps, hypercalls)) {
            slot.retire();
        }
    }

    /** The collaborator in {@code slot}, waiting out a swap's gap. */
    <T> T await(ServiceSlot<T> slot) throws InterruptedException {
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

    /** A collaborator that stayed away longer than a swap may take: the guest cannot go on. */
    static final class MissingComponent extends RuntimeException {
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
    static final class HandOver extends RuntimeException {
        private static final long serialVersionUID = 1L;

        HandOver() {
            super("the switcher was replaced", null, false, false);
        }
    }
}
