package dev.lguest.observability;

import dev.lguest.api.events.GuestStatisticsEvent;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.GuestRegistry;
import jdk.jfr.FlightRecorder;
import jdk.jfr.FlightRecorderListener;
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
import javax.management.MBeanServerFactory;
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
import java.util.function.Supplier;

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
 *
 * Neither is made for a process that does not use it: creating the platform MBean
 * server and starting the Flight Recorder each cost a cold JVM a few hundred
 * milliseconds of CPU, in the middle of `./lguest`'s start. So the MBeans go into the
 * platform MBean server only once someone has made it (a JMX agent, jconsole attaching,
 * a test asking for it; the refresh looks for it), and the periodic event is added when
 * the recorder starts (at once if a recording is already running).
 */
@Component(service = {})
public final class GuestMBeansComponent {
    static final String DOMAIN = "dev.lguest";
    static final long REFRESH_MILLIS = 200;
    private static final System.Logger LOG = System.getLogger(GuestMBeansComponent.class.getName());

    /** Where the MBeans go: the server, or null while there is none to use yet. */
    private final Supplier<MBeanServer> serverSource;
    /** The server the MBeans are in, once {@link #serverSource} gave one; guarded by {@link #registered}. */
    private MBeanServer server;
    private final Map<Guest, ObjectName> registered = new IdentityHashMap<>();
    private final AtomicLong guestsSeen = new AtomicLong();
    private final ObjectName platformName;
    private final ScheduledExecutorService refresher;
    private final Runnable statisticsHook = this::emitStatistics;
    private final FlightRecorderListener recorderStarts = new FlightRecorderListener() {
        @Override
        public void recorderInitialized(FlightRecorder recorder) {
            addStatisticsHook();
        }
    };
    /** Whether the periodic event is added (only once the recorder runs); guarded by {@link #recorderStarts}. */
    private boolean statisticsAdded;
    private boolean deactivated;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile GuestRegistry registry;

    @Activate
    public GuestMBeansComponent() {
        this(GuestMBeansComponent::platformServerOnceMade);
    }

    /** MBeans into {@code server} from the first refresh on (tests). */
    GuestMBeansComponent(MBeanServer server) {
        this(() -> server);
    }

    GuestMBeansComponent(Supplier<MBeanServer> serverSource) {
        this.serverSource = serverSource;
        this.platformName = name("type=Platform");
        FlightRecorder.addListener(recorderStarts);
        refresher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "lguest-mbeans");
            t.setDaemon(true);
            return t;
        });
        refresher.scheduleWithFixedDelay(this::refreshSafely, 0, REFRESH_MILLIS, TimeUnit.MILLISECONDS);
    }

    /**
     * The platform MBean server if something in the process has made it, else null.
     * It is made through MBeanServerFactory.createMBeanServer, which lists it for
     * findMBeanServer; asking ManagementFactory for it when the list is empty would
     * make it here, which is what this avoids.
     */
    static MBeanServer platformServerOnceMade() {
        return MBeanServerFactory.findMBeanServer(null).isEmpty() ? null : ManagementFactory.getPlatformMBeanServer();
    }

    private void addStatisticsHook() {
        synchronized (recorderStarts) {
            if (!statisticsAdded && !deactivated) {
                FlightRecorder.addPeriodicEvent(GuestStatisticsEvent.class, statisticsHook);
                statisticsAdded = true;
            }
        }
    }

    @Deactivate
    void deactivate() {
        refresher.shutdownNow();
        try {
            refresher.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        FlightRecorder.removeListener(recorderStarts);
        synchronized (recorderStarts) {
            deactivated = true;
            if (statisticsAdded) {
                FlightRecorder.removePeriodicEvent(statisticsHook);
                statisticsAdded = false;
            }
        }
        synchronized (registered) {
            if (server != null) {
                registered.values().forEach(this::unregister);
                unregister(platformName);
            }
            registered.clear();
        }
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
            if (server == null) {
                server = serverSource.get();
                if (server == null) {
                    return;
                }
                register(platformName, new PlatformMBean());
            }
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
