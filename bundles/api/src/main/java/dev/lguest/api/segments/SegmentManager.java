package dev.lguest.api.segments;

import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.guest.Guest;

/**
 * Segments: the guest's GDT entries with lguest's fix-ups. A guest may describe any
 * segments it likes, but never ring-0 ones, and never the host's own GDT slots.
 *
 * All methods run on the guest's thread; a guest that breaks the rules is killed
 * through {@link Guest#kill(String)}; nothing is thrown.
 */
public interface SegmentManager {
    /** The segments a guest boots with (__KERNEL_CS and __KERNEL_DS at ring 1). */
    void setupGuestGdt(Guest guest);

    /** LOAD_GDT: {@code entries} descriptors from guest-physical {@code address}. */
    void loadGdt(Guest guest, int address, int entries);

    /** LOAD_TLS: the three TLS descriptors from guest-physical {@code address}. */
    void loadTls(Guest guest, int address);

    /**
     * The descriptor cache a CPU would load for {@code selector} from the guest's GDT,
     * or null if the selector does not name a usable segment.
     */
    SegmentCache cacheFor(Guest guest, int selector);
}
