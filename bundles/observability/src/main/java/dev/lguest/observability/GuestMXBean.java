package dev.lguest.observability;

import java.util.Map;

/**
 * What JMX shows of one live guest, as dev.lguest:type=Guest,id=N: its counters from
 * GuestStatistics, read at the moment of the request. An MXBean, so any JMX client
 * (jconsole, jmc, a test through the platform MBeanServer) reads it with open types
 * only: the maps arrive as TabularData of (key, value) rows.
 */
public interface GuestMXBean {
    int getId();

    /** "running", "halted" or "dead: reason". */
    String getState();

    long getInstructions();

    /** All exits, whatever the reason. */
    long getExits();

    /** Exits by GuestStatistics.Exit name, every reason (zeros included). */
    Map<String, Long> getExitCounts();

    /** Hypercalls by name (LGUEST_INIT, NOTIFY, ...), the ones made at least once. */
    Map<String, Long> getHypercallCounts();

    /** Guest-physical memory in bytes: the guest's RAM and, above it, its device pages. */
    long getMemoryBytes();
}
