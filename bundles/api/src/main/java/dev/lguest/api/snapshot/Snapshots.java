package dev.lguest.api.snapshot;

import dev.lguest.api.launcher.GuestSession;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;

/**
 * Saving and restoring whole guests, as a service of the Launcher (which owns a
 * guest's memory and devices, and runs its thread).
 *
 * A save stops the guest at an instruction boundary, between two runs on its own
 * thread, and writes the file there: RAM, each component's section
 * ({@link GuestStateSection}) and each device's hand-over state. The guest then runs
 * on, or stops. A restore builds a new guest from a file, in this process or any
 * other, on this build or another one that has every component the file names.
 */
public interface Snapshots {
    /**
     * Saves the live guest with host id {@code guestId} to {@code file}; then stops it
     * ("saved to FILE") if {@code thenStop}, or lets it run on.
     */
    Saved save(int guestId, Path file, boolean thenStop) throws SnapshotException;

    /** Saves the guest of {@code session} (one this Launcher runs) to {@code file}. */
    Saved save(GuestSession session, Path file, boolean thenStop) throws SnapshotException;

    /**
     * Starts a guest from {@code file}, its console on {@code console}, its console
     * input from {@code input} (or none); {@code block} replaces the disk file the
     * snapshot names, or null to reopen that one.
     */
    default GuestSession restore(Path file, Path block, OutputStream console, InputStream input)
            throws SnapshotException {
        return restore(file, block, List.of(), console, input);
    }

    /**
     * {@link #restore(Path, Path, OutputStream, InputStream)} for a guest that may have a
     * network card: a link is not a thing a file holds, so the card joins
     * {@code networks} (at most one, "KIND:ARGUMENT" as in
     * {@link dev.lguest.api.launcher.BootSpec#networks()}). A snapshot with a card and
     * no network named, or a network named for a guest without a card, is refused.
     */
    GuestSession restore(Path file, Path block, List<String> networks, OutputStream console, InputStream input)
            throws SnapshotException;

    /**
     * What a save did: the file's size, the non-zero pages of RAM it holds, and how
     * long the guest stood still for it (nanoseconds).
     */
    record Saved(Path file, long bytes, int ramPages, long pauseNanos) {
    }
}
