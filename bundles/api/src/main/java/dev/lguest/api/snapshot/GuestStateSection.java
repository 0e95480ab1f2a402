package dev.lguest.api.snapshot;

import dev.lguest.api.guest.Guest;

/**
 * One component's part of a guest snapshot, as a service: the bundle that owns some
 * of a guest's state (its trap table, its GDT, its CPU registers...) writes that
 * state as one section of the file, and reads it back into a new guest. Each section
 * is named after the service of the component it belongs to
 * ("dev.lguest.api.traps.TrapDelivery"), so a snapshot says which components it
 * needs, and a restore onto a build that lacks one can say which.
 *
 * Both calls come on the guest's own thread, with the guest stopped at an instruction
 * boundary: save between two runs of a live guest, restore on a guest that
 * LHREQ_INITIALIZE has just set up and that has not run yet. The RAM is already in
 * place when restore is called. Restore must not trust the section: it checks every
 * value as it would check the guest's own words, and refuses with a one-line
 * {@link SnapshotException}.
 */
public interface GuestStateSection {
    /** The section's name: the component's service interface name. */
    String name();

    /** The version of the section's layout this component writes (it reads this one and older). */
    int version();

    /** Writes the component's state of {@code guest}; refuses (one line) if it cannot be saved now. */
    void save(Guest guest, SectionWriter out) throws SnapshotException;

    /** Reads back what {@link #save} wrote (at {@code version}) into the new {@code guest}. */
    void restore(Guest guest, int version, SectionReader in) throws SnapshotException;
}
