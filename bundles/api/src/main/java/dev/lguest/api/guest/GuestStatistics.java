package dev.lguest.api.guest;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counters of what one guest did: exits by reason and hypercalls by number. Written by
 * the guest's own thread, read by anyone (shell commands, tests), so plain atomics.
 */
public final class GuestStatistics {
    /** Exit kinds counted per guest. */
    public enum Exit { HYPERCALL, PAGE_FAULT, GENERAL_PROTECTION, DEVICE_NOT_AVAILABLE, OTHER_TRAP,
        HOST_INTERRUPT, BUDGET, NOTIFY, HALT }

    private final AtomicLongArray exits = new AtomicLongArray(Exit.values().length);
    private final AtomicLongArray hypercalls = new AtomicLongArray(32);
    private final java.util.concurrent.atomic.AtomicLong instructions = new java.util.concurrent.atomic.AtomicLong();

    public void countExit(Exit exit) {
        exits.incrementAndGet(exit.ordinal());
    }

    public void countHypercall(int number) {
        if (number >= 0 && number < hypercalls.length()) {
            hypercalls.incrementAndGet(number);
        }
    }

    public void addInstructions(long n) {
        instructions.addAndGet(n);
    }

    public long exits(Exit exit) {
        return exits.get(exit.ordinal());
    }

    public long hypercalls(int number) {
        return hypercalls.get(number);
    }

    public long instructions() {
        return instructions.get();
    }

    /** Exit counts by reason, leaving out the zero ones. */
    public Map<String, Long> exitCounts() {
        Map<String, Long> m = new TreeMap<>();
        for (Exit e : Exit.values()) {
            long n = exits(e);
            if (n != 0) {
                m.put(e.name(), n);
            }
        }
        return m;
    }
}
