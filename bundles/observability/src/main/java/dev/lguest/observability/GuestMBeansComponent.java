package dev.lguest.observability;

import dev.lguest.api.events.GuestStatisticsEvent;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.GuestRegistry;
import jdk.jfr.FlightRecorder;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import javax.management.InstanceAlreadyExistsException;
import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Publishes the host's guests to JMX and JDK Flight Recorder.
 *
 * JMX: one MBean per live guest, dev.lguest:type=Guest,id=N, registered when the guest
 * appears in the GuestRegistry (the /dev/lguest device's list) and unregistered when it
 * leaves it; and dev.lguest:type=Platform for the whole host. The registry has no
 * listeners, so a daemon thread compares it with the registered MBeans every
 * {@link #REFRESH_MILLIS} ms; the guests' own threads never see any of this.
 *
 * JFR: a periodic dev.lguest.GuestStatistics event per live guest (once a second while
 * a recording enables it), so that a recording has every guest's counters over time.
 */
@Component(service = {})
public final class GuestMBeansComponent {
    static final String DOMAIN = "dev.lguest";
    static final long REFRESH_MILLIS = 200;
    private static final System.Logger LOG = System.getLogger(GuestMBeansComponent.class.getName());

    private final MBeanServer server;
    private final Map<Guest, ObjectName> registered = new IdentityHashMap<>();
    private final AtomicLong guestsSeen = new AtomicLong();
    private final ObjectName platformName;
    private final ScheduledExecutorService refresher;
    private final Runnable statisticsHook = this::emitStatistics;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile GuestRegistry registry;

    @Activate
    public GuestMBeansComponent() {
        this(ManagementFactory.getPlatformMBeanServer());
    }

    GuestMBeansComponent(MBeanServer server) {
        this.server = server;
        this.platformName = name("type=Platform");
        register(platformName, new PlatformMBean());
        FlightRecorder.addPeriodicEvent(GuestStatisticsEvent.class, statisticsHook);
        refresher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "lguest-mbeans");
            t.setDaemon(true);
            return t;
        });
        refresher.scheduleWithFixedDelay(this::refreshSafely, 0, REFRESH_MILLIS, TimeUnit.MILLISECONDS);
    }

    @Deactivate
    void deactivate() {
        refresher.shutdownNow();
        try {
            refresher.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        FlightRecorder.removePeriodicEvent(statisticsHook);
        synchronized (registered) {
            registered.values().forEach(this::unregister);
            registered.clear();
        }
        unregister(platformName);
    }

    /** For tests: binds a registry without DS. */
    void setRegistry(GuestRegistry r) {
        registry = r;
    }

    private List<Guest> liveGuests() {
        GuestRegistry r = registry;
        return r == null ? List.of() : r.guests();
    }

    private void refreshSafely() {
        try {
            refresh();
        } catch (RuntimeException e) {
            // One bad refresh must not end the thread: the next one tries again.
            LOG.log(System.Logger.Level.WARNING, "cannot refresh the guest MBeans", e);
        }
    }

    /** Brings the registered MBeans in line with the live guests. */
    void refresh() {
        List<Guest> live = liveGuests();
        Set<Guest> liveSet = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        liveSet.addAll(live);
        synchronized (registered) {
            for (Guest gone : new ArrayList<>(registered.keySet())) {
                if (!liveSet.contains(gone)) {
                    unregister(registered.remove(gone));
                }
            }
            for (Guest g : live) {
                if (!registered.containsKey(g)) {
                    ObjectName n = guestName(g.id());
                    register(n, new GuestMBean(g));
                    registered.put(g, n);
                    guestsSeen.incrementAndGet();
                }
            }
        }
    }

    static ObjectName guestName(int id) {
        return name("type=Guest,id=" + id);
    }

    private static ObjectName name(String properties) {
        try {
            return new ObjectName(DOMAIN + ":" + properties);
        } catch (JMException e) {
            throw new IllegalArgumentException(properties, e);
        }
    }

    /** Registers, replacing a stale MBean of that name (left by a framework that went away). */
    private void register(ObjectName n, Object mbean) {
        try {
            try {
                server.registerMBean(mbean, n);
            } catch (InstanceAlreadyExistsException stale) {
                server.unregisterMBean(n);
                server.registerMBean(mbean, n);
            }
        } catch (JMException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot register MBean " + n, e);
        }
    }

    private void unregister(ObjectName n) {
        try {
            server.unregisterMBean(n);
        } catch (InstanceNotFoundException alreadyGone) {
            // Nothing to do.
        } catch (JMException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot unregister MBean " + n, e);
        }
    }

    /** JFR's periodic hook: one statistics event per live guest. */
    private void emitStatistics() {
        for (Guest g : liveGuests()) {
            GuestStatisticsEvent event = new GuestStatisticsEvent();
            if (!event.isEnabled()) {
                return;
            }
            event.guestId = g.id();
            event.instructions = g.statistics.instructions();
            event.exits = GuestCounters.totalExits(g.statistics);
            event.exitCounts = GuestCounters.compact(GuestCounters.exitCounts(g.statistics));
            event.hypercallCounts = GuestCounters.compact(GuestCounters.hypercallCounts(g.statistics));
            event.commit();
        }
    }

    /** dev.lguest:type=Platform: the live guests together. */
    private final class PlatformMBean implements PlatformMXBean {
        @Override
        public int getLiveGuests() {
            return liveGuests().size();
        }

        @Override
        public int[] getGuestIds() {
            return liveGuests().stream().mapToInt(Guest::id).toArray();
        }

        @Override
        public long getGuestsSeen() {
            return guestsSeen.get();
        }

        @Override
        public long getInstructions() {
            return liveGuests().stream().mapToLong(g -> g.statistics.instructions()).sum();
        }

        @Override
        public long getExits() {
            return liveGuests().stream().mapToLong(g -> GuestCounters.totalExits(g.statistics)).sum();
        }

        @Override
        public Map<String, Long> getExitCounts() {
            return GuestCounters.sum(liveGuests(), GuestCounters::exitCounts);
        }

        @Override
        public Map<String, Long> getHypercallCounts() {
            return GuestCounters.sum(liveGuests(), GuestCounters::hypercallCounts);
        }
    }
}
