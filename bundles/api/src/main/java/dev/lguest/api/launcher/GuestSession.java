package dev.lguest.api.launcher;

import dev.lguest.api.guest.Guest;

import java.time.Duration;
import java.util.Optional;

/** A guest the Launcher booted and runs on a thread of its own. */
public interface GuestSession {
    /** The host's record of the guest, once it has been initialized. */
    Optional<Guest> guest();

    /** Waits for the guest to end, at most {@code timeout}; empty if it still runs. */
    Optional<GuestOutcome> await(Duration timeout) throws InterruptedException;

    /** Kills the guest ("stopped by the Launcher") and waits for its thread. */
    void stop();
}
