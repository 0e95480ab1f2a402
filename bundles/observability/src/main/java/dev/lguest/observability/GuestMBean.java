package dev.lguest.observability;

import dev.lguest.api.guest.Guest;

import java.util.Map;

/**
 * The MBean of one guest: a live view of its record, nothing cached. It holds the
 * Guest only while it is registered; the registrar drops it when the guest goes.
 */
final class GuestMBean implements GuestMXBean {
    private final Guest guest;

    GuestMBean(Guest guest) {
        this.guest = guest;
    }

    @Override
    public int getId() {
        return guest.id();
    }

    @Override
    public String getState() {
        String dead = guest.deadReason();
        return dead != null ? "dead: " + dead : guest.halted ? "halted" : "running";
    }

    @Override
    public long getInstructions() {
        return guest.statistics.instructions();
    }

    @Override
    public long getExits() {
        return GuestCounters.totalExits(guest.statistics);
    }

    @Override
    public Map<String, Long> getExitCounts() {
        return GuestCounters.exitCounts(guest.statistics);
    }

    @Override
    public Map<String, Long> getHypercallCounts() {
        return GuestCounters.hypercallCounts(guest.statistics);
    }

    @Override
    public long getMemoryBytes() {
        return guest.memory.size();
    }
}
