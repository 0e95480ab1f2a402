package dev.lguest.api.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * A component replaced while guests may run (lguest:swap, or a test's swap): which
 * service, which bundle provided it before and which does now. The event's duration
 * is the swap's, from starting the new bundle to the old one being gone.
 */
@Name(ComponentSwapEvent.NAME)
@Label("Component Swap")
@Category({"lguest", "Platform"})
@Description("A component's provider was replaced: the service, the bundles, how long it took")
@StackTrace(false)
public final class ComponentSwapEvent extends jdk.jfr.Event {
    public static final String NAME = "dev.lguest.ComponentSwap";

    /** The service interface, e.g. dev.lguest.api.mmu.ShadowPageTables. */
    @Label("Service")
    public String service;

    /** "id (symbolic-name version)" of the bundle that provided it, or "none". */
    @Label("From Bundle")
    public String fromBundle;

    @Label("To Bundle")
    public String toBundle;

    @Label("Succeeded")
    public boolean succeeded;

    /** What the swap said: "swapped ..." or why the old provider stays. */
    @Label("Outcome")
    public String outcome;
}
