/*
 * Hypercalls: how the guest asks the host for what it may not do itself.
 *
 * A guest traps with int $0x1f, the number in eax and the arguments in edx, ebx and
 * ecx, and the switcher hands it to us. The first call must be LGUEST_INIT, which
 * tells us where the guest's struct lguest_data lives; we fill in the host's part of
 * it. Anything else before that kills the guest, as does any number we do not know:
 * like lguest, we are unforgiving, since the guest knows the rules.
 *
 * Guests also queue calls they need not wait for (page table updates, mostly) in a
 * ring inside lguest_data. We run that ring, in order, before every normal call, so
 * the guest can count on queued calls having happened first.
 *
 * Most calls are passed straight to the service that owns the matter (segments, traps,
 * page tables); the dispatch is a table from call to action. Nothing about a guest is
 * kept here: even the ring position (lguest's next_hcall) is the guest's.
 */
package dev.lguest.hypercalls;

import dev.lguest.api.cpu.X86;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.guest.LguestData;
import dev.lguest.api.hypercalls.Hypercall;
import dev.lguest.api.hypercalls.HypercallHandler;
import dev.lguest.api.memory.GuestMemoryFault;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.service.ServiceSlot;
import dev.lguest.api.traps.TrapDelivery;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

@Component(service = HypercallHandler.class)
public final class GuestHypercalls implements HypercallHandler {
    /** The top 4 MiB of the guest's virtual space hold the switcher: it may not use them. */
    static final int RESERVED_MEMORY = 4 * 1024 * 1024;

    private static final int PAGE_SIZE = 4096;

    private static final System.Logger LOG = System.getLogger(GuestHypercalls.class.getName());

    /** What one hypercall does, given the handler (for its services) and the arguments. */
    @FunctionalInterface
    private interface Action {
        void run(GuestHypercalls handler, Guest guest, int arg1, int arg2, int arg3);
    }

    /** The hypercall table of lguest 2.6.24 (LGUEST_INIT's first use is handled apart). */
    private static final Map<Hypercall, Action> ACTIONS = new EnumMap<>(Hypercall.class);

    static {
        ACTIONS.put(Hypercall.FLUSH_ASYNC, (h, g, a1, a2, a3) -> {
            // Nothing to do: getting here ran the asynchronous ring, which was the point.
        });
        ACTIONS.put(Hypercall.LGUEST_INIT, (h, g, a1, a2, a3) -> g.kill("already have lguest_data"));
        ACTIONS.put(Hypercall.CRASH, (h, g, a1, a2, a3) -> crash(g, a1));
        ACTIONS.put(Hypercall.LOAD_GDT, (h, g, a1, a2, a3) -> {
            SegmentManager segments = h.segments(g);
            if (segments != null) {
                segments.loadGdt(g, a1, a2);
            }
        });
        ACTIONS.put(Hypercall.NEW_PGTABLE, (h, g, a1, a2, a3) -> {
            ShadowPageTables mmu = h.pageTables(g);
            if (mmu != null) {
                mmu.newPageTable(g, a1);
            }
        });
        ACTIONS.put(Hypercall.FLUSH_TLB, (h, g, a1, a2, a3) -> {
            ShadowPageTables mmu = h.pageTables(g);
            if (mmu != null) {
                mmu.flush(g, a1 != 0);
            }
        });
        ACTIONS.put(Hypercall.LOAD_IDT_ENTRY, (h, g, a1, a2, a3) -> {
            TrapDelivery traps = h.traps(g);
            if (traps != null) {
                traps.loadIdtEntry(g, a1, a2, a3);
            }
        });
        ACTIONS.put(Hypercall.SET_STACK, (h, g, a1, a2, a3) -> {
            TrapDelivery traps = h.traps(g);
            if (traps != null) {
                traps.setStack(g, a1, a2, a3);
            }
        });
        ACTIONS.put(Hypercall.TS, (h, g, a1, a2, a3) -> g.taskSwitched = a1 != 0);
        ACTIONS.put(Hypercall.SET_CLOCKEVENT, (h, g, a1, a2, a3) -> {
            TrapDelivery traps = h.traps(g);
            if (traps != null) {
                traps.setClockEvent(g, Integer.toUnsignedLong(a1));
            }
        });
        ACTIONS.put(Hypercall.HALT, (h, g, a1, a2, a3) -> g.halted = true);
        ACTIONS.put(Hypercall.SET_PTE, (h, g, a1, a2, a3) -> {
            ShadowPageTables mmu = h.pageTables(g);
            if (mmu != null) {
                mmu.setPte(g, a1, a2, a3);
            }
        });
        ACTIONS.put(Hypercall.SET_PMD, (h, g, a1, a2, a3) -> {
            ShadowPageTables mmu = h.pageTables(g);
            if (mmu != null) {
                mmu.setPmd(g, a1, a2);
            }
        });
        ACTIONS.put(Hypercall.LOAD_TLS, (h, g, a1, a2, a3) -> {
            SegmentManager segments = h.segments(g);
            if (segments != null) {
                segments.loadTls(g, a1);
            }
        });
        ACTIONS.put(Hypercall.NOTIFY, (h, g, a1, a2, a3) -> g.pendingNotify = a1);
    }

    // Every implementation of each collaborator is bound (MULTIPLE), and the slot uses
    // the one a greedy unary reference would: with a unary reference, an instance
    // activated while the best candidate was being stopped (two swaps at once) stayed
    // without that collaborator for good, though another was registered (ServiceSlot).
    private final ServiceSlot<TrapDelivery> trapDelivery = new ServiceSlot<>("trap");
    private final ServiceSlot<SegmentManager> segmentManager = new ServiceSlot<>("segment");
    private final ServiceSlot<ShadowPageTables> shadowPageTables = new ServiceSlot<>("page table");

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindTrapDelivery(TrapDelivery service, Map<String, Object> properties) {
        trapDelivery.bind(service, properties);
    }

    void unbindTrapDelivery(TrapDelivery service) {
        trapDelivery.unbind(service);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindSegmentManager(SegmentManager service, Map<String, Object> properties) {
        segmentManager.bind(service, properties);
    }

    void unbindSegmentManager(SegmentManager service) {
        segmentManager.unbind(service);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindShadowPageTables(ShadowPageTables service, Map<String, Object> properties) {
        shadowPageTables.bind(service, properties);
    }

    void unbindShadowPageTables(ShadowPageTables service) {
        shadowPageTables.unbind(service);
    }

    void setTrapDelivery(TrapDelivery service) {
        trapDelivery.set(service);
    }

    void setSegmentManager(SegmentManager service) {
        segmentManager.set(service);
    }

    void setShadowPageTables(ShadowPageTables service) {
        shadowPageTables.set(service);
    }

    // The services, each as it is bound right now. A missing one cannot do the guest's
    // call, so the guest dies saying which; every one is bound before a guest runs.

    /**
     * Deactivation comes before the framework unbinds the collaborators, and a guest
     * may be in the middle of a call on this instance right then (its replacement is
     * already serving the next calls): that call finishes with what the slots hold
     * now, which a retired slot keeps through the unbinds.
     */
    @Deactivate
    void deactivate() {
        trapDelivery.retire();
        segmentManager.retire();
        shadowPageTables.retire();
    }

    private TrapDelivery traps(Guest guest) {
        return present(guest, trapDelivery);
    }

    private SegmentManager segments(Guest guest) {
        return present(guest, segmentManager);
    }

    private ShadowPageTables pageTables(Guest guest) {
        return present(guest, shadowPageTables);
    }

    /** How long a missing collaborator is waited for (the gap of a swap); tests shorten it. */
    long swapWaitNanos = java.util.concurrent.TimeUnit.SECONDS.toNanos(dev.lguest.api.service.SwapGap.WAIT_SECONDS);

    /** The service in the slot, waiting out the gap of a swap; kills the guest if none comes. */
    private <T> T present(Guest guest, ServiceSlot<T> slot) {
        // Looked at again on every turn of the wait: this instance may be retired while
        // a call waits on it for a collaborator in its own gap, and the framework binds
        // nothing to a retired instance; it then finishes with what it had.
        T service = dev.lguest.api.service.SwapGap.await(slot::get, swapWaitNanos);
        if (service == null) {
            guest.kill("hypercall needs the " + slot + " service, which is not there");
        }
        return service;
    }

    // ---- entry points ----

    @Override
    public void doHypercalls(Guest guest) {
        X86Cpu cpu = guest.cpu();
        if (cpu == null) {
            guest.kill("hypercall without a CPU to read it from");
            return;
        }
        int number = cpu.gpr(X86.EAX);
        int arg1 = cpu.gpr(X86.EDX);
        int arg2 = cpu.gpr(X86.EBX);
        int arg3 = cpu.gpr(X86.ECX);
        try {
            if (guest.lguestData != 0) {
                runAsyncRing(guest);
                // A NOTIFY in the ring goes to the Launcher first: the call in the
                // registers stays pending, and runs when the guest is next run.
                if (guest.pendingNotify != 0 || guest.isDead()) {
                    return;
                }
            }
            doHypercall(guest, number, arg1, arg2, arg3);
        } catch (GuestMemoryFault fault) {
            guest.kill(badAccess(fault));
        }
        guest.hypercallPending = false;
    }

    @Override
    public void doHypercall(Guest guest, int number, int arg1, int arg2, int arg3) {
        guest.statistics.countHypercall(number);
        try {
            if (guest.lguestData == 0) {
                if (number != Hypercall.LGUEST_INIT.number) {
                    guest.kill("hypercall " + Integer.toUnsignedString(number) + " before LGUEST_INIT");
                    return;
                }
                initialize(guest, arg1);
                return;
            }
            // A number the API knows but this table does not is as bad as an unknown one.
            Hypercall call = Hypercall.of(number);
            Action action = call == null ? null : ACTIONS.get(call);
            if (action == null) {
                guest.kill("Bad hypercall " + Integer.toUnsignedString(number));
                return;
            }
            action.run(this, guest, arg1, arg2, arg3);
        } catch (GuestMemoryFault fault) {
            guest.kill(badAccess(fault));
        } catch (RuntimeException bug) {
            // A service failed on what the guest gave it. That is the host's bug, but
            // the guest that found it is the one to stop, with a reason a person can
            // read; the details go to the log, never into the reason.
            LOG.log(System.Logger.Level.ERROR, "hypercall " + Integer.toUnsignedString(number)
                    + " of guest " + guest.id() + " failed in the host", bug);
            guest.kill("hypercall " + Integer.toUnsignedString(number) + " failed in the host");
        }
    }

    /** A guest memory fault in lguest's words, from its numbers and never its text. */
    static String badAccess(GuestMemoryFault fault) {
        return String.format("bad guest memory access %#x len %d", fault.address(), fault.length());
    }

    // ---- LGUEST_INIT ----

    /**
     * lguest's initialize(): checks where the guest put lguest_data, fills in the
     * host's fields there, and takes the guest's fields it needs, once.
     */
    private void initialize(Guest guest, int address) {
        long data = Integer.toUnsignedLong(address);
        if (!guestRangeOk(guest, data, LguestData.SIZE)) {
            guest.kill(String.format("bad guest page %#x", data));
            return;
        }
        // The API says "not initialized" with address 0, so a guest cannot use it.
        if (data == 0) {
            guest.kill("lguest_data at guest-physical address 0");
            return;
        }
        guest.lguestData = address;

        // We promise nothing about the TSC: the guest falls back to lguest_data.time.
        guest.memory.write32(data + LguestData.TSC_KHZ, 0);

        TrapDelivery traps = traps(guest);
        if (traps == null) {
            return;
        }
        if (!traps.checkSyscallVector(guest)) {
            guest.kill("bad syscall vector");
            return;
        }
        guest.syscallVector = guest.memory.read32(data + LguestData.SYSCALL_VEC);

        // Where interrupts must never arrive: the inside of the guest's iret.
        guest.noirqStart = guest.memory.read32(data + LguestData.NOIRQ_START);
        guest.noirqEnd = guest.memory.read32(data + LguestData.NOIRQ_END);

        // Wall-clock time, once, so the guest can set its clock.
        Instant now = Instant.now();
        guest.memory.write32(data + LguestData.TIME_SEC, (int) now.getEpochSecond());
        guest.memory.write32(data + LguestData.TIME_NSEC, now.getNano());

        // The kernel's start address: above it all is kernel. Flushing user mappings
        // walks the directory up to there, so it must stay below the switcher's slot.
        guest.kernelAddress = guest.memory.read32(data + LguestData.KERNEL_ADDRESS);
        guest.memory.write32(data + LguestData.RESERVE_MEM, RESERVED_MEMORY);
        guest.memory.write32(data + LguestData.PGDIR, guest.paging.guestPgdir);
        if ((guest.kernelAddress >>> 22) >= Lguest.SWITCHER_PGD_INDEX) {
            guest.kill(String.format("bad kernel address %#x", guest.kernelAddress));
            return;
        }

        // As lguest does after writing lguest_data: drop every shadow mapping so none
        // can be stale.
        ShadowPageTables mmu = pageTables(guest);
        if (mmu != null) {
            mmu.flush(guest, true);
        }
    }

    // ---- CRASH ----

    /** The guest's last words (at most 127 characters), which become its reason to die. */
    private static void crash(Guest guest, int address) {
        long start = Integer.toUnsignedLong(address);
        long limit = Integer.toUnsignedLong(guest.pfnLimit) * PAGE_SIZE;
        if (!guestRangeOk(guest, start, 1)) {
            guest.kill(String.format("bad read address %#x len %d", start, Lguest.CRASH_MESSAGE_MAX));
            return;
        }
        int max = (int) Math.min(Lguest.CRASH_MESSAGE_MAX - 1, limit - start);
        String message = guest.memory.readCString(start, max);
        guest.kill(message.isEmpty() ? "CRASH" : message);
    }

    // ---- the asynchronous ring ----

    /**
     * lguest's do_async_hcalls(): from where we stopped last time, runs each entry the
     * guest marked ready (any status but 0xFF), marking it done, until an entry is not
     * ready, the ring has gone round once, the guest notified the Launcher, or died.
     */
    private void runAsyncRing(Guest guest) {
        long data = Integer.toUnsignedLong(guest.lguestData);
        byte[] status;
        try {
            // Nearly every time the ring is empty: one look at the next slot says so,
            // and spares a copy of the status bytes on every hypercall (the guest is
            // stopped, so the byte read now is the byte the copy would hold).
            int next = Math.floorMod(guest.nextHypercall, LguestData.HCALL_RING);
            if (guest.memory.read8(data + LguestData.HCALL_STATUS + next) == LguestData.HCALL_DONE) {
                return;
            }
            status = guest.memory.read(data + LguestData.HCALL_STATUS, LguestData.HCALL_RING);
        } catch (GuestMemoryFault fault) {
            return;
        }
        for (int i = 0; i < LguestData.HCALL_RING; i++) {
            int slot = Math.floorMod(guest.nextHypercall, LguestData.HCALL_RING);
            if ((status[slot] & 0xff) == LguestData.HCALL_DONE) {
                break;
            }
            guest.nextHypercall = (slot + 1) % LguestData.HCALL_RING;

            // Each entry holds the registers in lguest_regs order: eax, ebx, ecx, edx.
            long entry = data + LguestData.HCALLS + (long) slot * LguestData.HCALL_ENTRY_SIZE;
            int number;
            int arg1;
            int arg2;
            int arg3;
            try {
                number = guest.memory.read32(entry);
                arg2 = guest.memory.read32(entry + 4);
                arg3 = guest.memory.read32(entry + 8);
                arg1 = guest.memory.read32(entry + 12);
            } catch (GuestMemoryFault fault) {
                guest.kill("Fetching async hypercalls");
                return;
            }

            doHypercall(guest, number, arg1, arg2, arg3);

            try {
                guest.memory.write8(data + LguestData.HCALL_STATUS + slot, LguestData.HCALL_DONE);
            } catch (GuestMemoryFault fault) {
                guest.kill("Writing result for async hypercall");
                return;
            }
            if (guest.pendingNotify != 0 || guest.isDead()) {
                break;
            }
        }
    }

    /** lguest_address_ok(): below the guest's frame limit, no wrap, inside its memory. */
    static boolean guestRangeOk(Guest guest, long address, long length) {
        long end = address + length;
        return address >= 0 && end >= address && end <= Integer.toUnsignedLong(guest.pfnLimit) * PAGE_SIZE
                && guest.memory.contains(address, length);
    }
}
