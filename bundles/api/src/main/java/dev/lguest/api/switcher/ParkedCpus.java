package dev.lguest.api.switcher;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.guest.Guest;

import java.util.Map;
import java.util.WeakHashMap;

/**
 * Registers of guests that have no CPU at the moment a switcher retires.
 *
 * A guest's registers live in its CPU. Between a CPU factory's unbind and the next
 * bind (an in-place update of the CPU bundle) there is no CPU, and the switcher keeps
 * the registers as a CpuState. If that switcher is itself replaced in that moment, its
 * successor must get them: the retiring switcher parks them here, and whichever
 * switcher next gives the guest a CPU takes them. This lives in the API bundle
 * because it must outlive any switcher revision; CpuState is the API's class, so
 * nothing here holds a replaced bundle's classes. Guests are held weakly: a guest
 * that ends parked leaves nothing behind.
 */
public final class ParkedCpus {
    private static final Map<Guest, CpuState> PARKED = new WeakHashMap<>();

    private ParkedCpus() {
    }

    /** Leaves {@code state} for the next switcher that runs {@code guest}. */
    public static void park(Guest guest, CpuState state) {
        synchronized (PARKED) {
            PARKED.put(guest, state);
        }
    }

    /** The registers left for {@code guest}, removed; null if none were. */
    public static CpuState take(Guest guest) {
        synchronized (PARKED) {
            return PARKED.remove(guest);
        }
    }
}
