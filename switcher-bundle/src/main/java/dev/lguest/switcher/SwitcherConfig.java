package dev.lguest.switcher;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The switcher's configuration (PID dev.lguest.switcher, see SwitcherSettings in the
 * API), as ConfigAdmin delivers it and Metatype describes it to tools. A change
 * reaches the running switcher without a restart and applies to the guests it sets
 * up from then on; guests already running keep what they started with.
 */
@ObjectClassDefinition(name = "lguest switcher",
        description = "The run loop of every guest: how long a guest runs between looks around, "
                + "how often its timer may fire, and which exits are logged.")
@interface SwitcherConfig {
    @AttributeDefinition(name = "Slice (instructions)", min = "256",
            description = "Guest instructions per slice: how long a guest runs on its CPU before the run "
                    + "loop looks at interrupts, breaks and swaps. Shorter slices react sooner and cost more.")
    long slice_instructions() default RunLoop.SLICE;

    @AttributeDefinition(name = "Minimum timer period (µs)", min = "0",
            description = "The shortest time between two timer interrupts (IRQ 0, SET_CLOCKEVENT) of one "
                    + "guest, in microseconds. A guest asking for sooner gets it this late; this bounds how "
                    + "many timer interrupts a guest can make the host deliver. 0: as the guest asks.")
    long clock_min_period_us() default 0;

    @AttributeDefinition(name = "Log exits",
            description = "Exit reasons to log through System.Logger (INFO), one line per exit: names of "
                    + "GuestStatistics.Exit (PAGE_FAULT, GENERAL_PROTECTION, HYPERCALL, ...) or ALL. "
                    + "For debugging only: a busy guest exits many thousand times a second.")
    String[] log_exits() default {};
}
