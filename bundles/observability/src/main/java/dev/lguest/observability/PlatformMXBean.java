package dev.lguest.observability;

import java.util.Map;

/**
 * The whole host as dev.lguest:type=Platform: how many guests live and have lived, and
 * the exit and hypercall counters summed over the live guests.
 */
public interface PlatformMXBean {
    int getLiveGuests();

    /** Ids of the live guests, in creation order. */
    int[] getGuestIds();

    /** Guests seen since this bundle started (live or gone). */
    long getGuestsSeen();

    long getInstructions();

    long getExits();

    Map<String, Long> getExitCounts();

    Map<String, Long> getHypercallCounts();
}
