package dev.lguest.api.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;

/**
 * What one live guest has done so far, sampled once a second: instructions and the
 * exit and hypercall counters of its GuestStatistics. The cheap view of a guest in a
 * recording, next to the per-exit {@link GuestExitEvent}s. Emitted by the
 * observability bundle (a periodic event: nothing on the guest's own path).
 */
@Name(GuestStatisticsEvent.NAME)
@Label("Guest Statistics")
@Category({"lguest", "Guest"})
@Description("Counters of one live guest: instructions, exits by reason, hypercalls by name")
@Period("1 s")
@StackTrace(false)
public final class GuestStatisticsEvent extends jdk.jfr.Event {
    public static final String NAME = "dev.lguest.GuestStatistics";

    @Label("Guest")
    public int guestId;

    @Label("Instructions")
    public long instructions;

    @Label("Exits")
    public long exits;

    /** The non-zero exit counters, "HYPERCALL=12 PAGE_FAULT=40 ...". */
    @Label("Exits by Reason")
    public String exitCounts;

    /** The non-zero hypercall counters, "LGUEST_INIT=1 NOTIFY=3 ...". */
    @Label("Hypercalls")
    public String hypercallCounts;
}
