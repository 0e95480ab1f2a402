package dev.lguest.api.launcher;

import java.io.InputStream;
import java.io.PrintStream;

/**
 * What the Launcher offers the devices of one guest: its console streams, a way to
 * get the guest's attention when input arrives, and --verbose.
 */
public interface DeviceHost {
    /** Where the guest's console output goes. */
    PrintStream console();

    /** The user's keyboard for the guest's console input, or null when there is none (tests, services). */
    InputStream input();

    /**
     * Breaks the Launcher out of the running guest so that it calls
     * {@link GuestDevice#serviceInput()} soon; callable from any thread. This is the
     * Waker of lguest.c: it blocks until the Launcher has serviced the input, which
     * is also what keeps a fast producer from outrunning the guest.
     */
    void wakeGuest();

    /**
     * Ends the guest because its user asked to through this device, for {@code
     * reason}: lguest.c's console ends the Launcher on three ^C within about a
     * second. The guest's outcome is {@link GuestOutcome#stoppedByUser} (exit status 2).
     */
    void stopGuest(String reason);

    /** True if the user asked for --verbose. */
    boolean verbose();

    /** Prints one --verbose line (nothing unless {@link #verbose()}). */
    void verbose(String line);

    /**
     * Tells the user something they should know about their device even without
     * --verbose (a disk that can only be read, say), once, in one line.
     */
    default void warn(String line) {
        verbose(line);
    }
}
