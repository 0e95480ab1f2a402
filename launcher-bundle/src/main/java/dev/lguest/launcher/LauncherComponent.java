package dev.lguest.launcher;

import dev.lguest.api.device.LguestDevice;
import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestSession;
import dev.lguest.api.launcher.LauncherDevice;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.service.ServiceSlot;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import dev.lguest.api.launcher.BlockState;
import dev.lguest.api.launcher.SavedNetState;
import dev.lguest.api.snapshot.GuestStateSection;
import dev.lguest.api.snapshot.RamImage;
import dev.lguest.api.snapshot.SectionReader;
import dev.lguest.api.snapshot.SnapshotException;
import dev.lguest.api.snapshot.SnapshotFile;
import dev.lguest.api.snapshot.Snapshots;
import dev.lguest.api.snapshot.Migrations;
import dev.lguest.api.mmu.ShadowPageTables;
import org.osgi.framework.Bundle;
import org.osgi.framework.FrameworkUtil;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The Launcher: lguest's host userspace, as a service.
 *
 * It allocates the guest's memory (its own memory, as the Launcher process's memory
 * is the guest's in lguest), loads the kernel (a vmlinux or a bzImage) and the initrd,
 * writes boot_params and the initial page tables, lays out the device page with every
 * device the bound {@link LauncherDevice}s give this guest, and then talks to the host
 * only through /dev/lguest: one INITIALIZE write, then reads that run the guest, each
 * returning when the guest NOTIFYs. Everything that can be wrong with the user's input
 * is found here, before the guest exists, and reported as a one-line BootException.
 *
 * The device services may come and go while guests run (a virtio bundle swapped or
 * updated): each change is passed to the running guests, whose devices made by a
 * service now gone are handed over to a bound one of the same type. The bind or
 * unbind returns once that is done, so a bundle stopped after its replacement started
 * leaves no guest on its code.
 */
@Component(service = {GuestLauncher.class, Snapshots.class, Migrations.class})
public final class LauncherComponent implements GuestLauncher, Snapshots, Migrations {
    static final int MIN_MEMORY_MB = 1;
    static final int MAX_MEMORY_MB = 2048;
    /** The kernel goes at 1 MiB; below it are boot_params and the command line. */
    static final long KERNEL_ADDRESS = 0x100000;
    private static final long DEVICE_WAIT_SECONDS = 30;
    private static final int VIRTIO_ID_BLOCK = 2;
    private static final int VIRTIO_ID_NET = 1;

    private final ServiceSlot<LguestDevice> lguestDevice = new ServiceSlot<>("/dev/lguest");
    private final List<LauncherDevice> launcherDevices = new CopyOnWriteArrayList<>();
    private final Set<RunningGuest> running = ConcurrentHashMap.newKeySet();
    /** Where --verbose goes: standard error, so that the guest's console alone is on standard output. */
    private final PrintStream diagnostics;

    public LauncherComponent() {
        this(System.err);
    }

    /** A Launcher whose --verbose lines go to {@code diagnostics} (tests). */
    LauncherComponent(PrintStream diagnostics) {
        this.diagnostics = diagnostics;
    }

    /** Each component's snapshot section (traps, segments, MMU, CPU...), as their bundles offer them. */
    private final List<GuestStateSection> stateSections = new CopyOnWriteArrayList<>();

    /** The shadow page tables, which a migration asks to write-protect the guest's pages for its dirty log. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile ShadowPageTables shadowPageTables;

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindStateSection(GuestStateSection s) {
        stateSections.add(s);
    }

    void unbindStateSection(GuestStateSection s) {
        stateSections.remove(s);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindDevice(LguestDevice d) {
        lguestDevice.bind(d);
    }

    void unbindDevice(LguestDevice d) {
        lguestDevice.unbind(d);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindLauncherDevice(LauncherDevice d) {
        launcherDevices.add(d);
        reconcileRunningGuests();
    }

    void unbindLauncherDevice(LauncherDevice d) {
        launcherDevices.remove(d);
        reconcileRunningGuests();
    }

    private void reconcileRunningGuests() {
        List<LauncherDevice> bound = List.copyOf(launcherDevices);
        for (RunningGuest g : running) {
            g.reconcileDevices(bound);
        }
    }

    @Override
    public GuestSession boot(BootSpec spec, OutputStream console, InputStream input) throws BootException {
        if (spec.memoryMegabytes() < MIN_MEMORY_MB || spec.memoryMegabytes() > MAX_MEMORY_MB) {
            throw new BootException(String.format("guest memory must be between %d and %d MB, not %d",
                    MIN_MEMORY_MB, MAX_MEMORY_MB, spec.memoryMegabytes()));
        }
        byte[] kernelImage = spec.kernelImage() != null ? spec.kernelImage() : readFile(spec.kernel(), "kernel");
        String kernelName = spec.kernel() != null ? spec.kernel().toString() : "the built-in demo guest";
        GuestLayout layout = new GuestLayout((long) spec.memoryMegabytes() << 20);
        byte[] initrd = spec.initrd() != null ? readInitrd(spec.initrd(), layout, spec.memoryMegabytes(),
                spec.inflateInitrd()) : null;
        ConsoleLines lines = new ConsoleLines(console, diagnostics);
        PrintStream out = lines.console();

        long initrdSize = initrd == null ? 0 : initrd.length;
        long initrdBase = layout.initrdBase(initrdSize);
        // The kernel at 1 MiB, the page tables and the initrd at the top: all must fit
        // (readInitrd has checked the initrd's part).
        if (initrdBase - layout.pageTableBytes() < KERNEL_ADDRESS) {
            throw new BootException(String.format("%d MB of guest memory leaves no room for a kernel at 1 MiB",
                    spec.memoryMegabytes()));
        }
        Arena arena = Arena.ofShared();
        List<GuestDevice> opened = new ArrayList<>();
        boolean handedOver = false;
        try {
            MemorySegment launcherMemory = GuestRam.allocate(arena, layout.totalBytes());
            GuestMemory memory = new GuestMemory(launcherMemory);
            List<String> verbose = new ArrayList<>();

            long pageTablesBase = initrdBase - layout.pageTableBytes();
            // Loaded against the room it would have without an initrd, so that a kernel
            // that fits alone but not beside this initrd is told as that.
            LoadedKernel kernel = LoadedKernel.load(kernelImage, memory, layout.initrdBase(0)
                    - layout.pageTableBytes(), kernelName);
            verbose.addAll(kernel.description());
            if (initrd != null) {
                if (kernel.end() > pageTablesBase) {
                    throw new BootException(String.format("the initrd %s (%d bytes) does not fit in %d MB of guest "
                            + "memory beside the kernel %s, which ends at %#x (the initrd and its page tables would "
                            + "start at %#x)", spec.initrd(), initrdSize, spec.memoryMegabytes(), kernelName,
                            kernel.end(), pageTablesBase));
                }
                memory.write(initrdBase, initrd);
                verbose.add(String.format("mapped initrd %s size=%d @ %#x", spec.initrd(), initrdSize, initrdBase));
            }
            int pgdir = layout.writePageTables(memory, initrdBase);
            verbose.add(String.format("Linear mapping of %d pages in %d pte pages at %#x",
                    layout.memoryBytes / PhysicalMemory.PAGE_SIZE,
                    layout.pageTableBytes() / PhysicalMemory.PAGE_SIZE - 1, pgdir + PhysicalMemory.PAGE_SIZE));
            layout.writeBootParams(memory, spec.commandLine(), initrdBase, initrdSize);

            LauncherDeviceHost host = new LauncherDeviceHost(lines, input, spec.verbose());
            GuestDevices devices = new GuestDevices(memory, layout);
            int number = 0;
            boolean block = false;
            boolean net = false;
            for (LauncherDevice kind : devicesInOrder()) {
                Optional<GuestDevice> device = kind.attach(spec, host);
                if (device.isEmpty()) {
                    continue;
                }
                opened.add(device.get());
                devices.add(kind.name(), kind.type(), kind, device.get());
                verbose.add(String.format("device %d: %s", number++, device.get().describe()));
                block |= kind.type() == VIRTIO_ID_BLOCK;
                net |= kind.type() == VIRTIO_ID_NET;
            }
            if (spec.block() != null && !block) {
                throw new BootException("--block: this build has no virtio block device");
            }
            if (!spec.networks().isEmpty() && !net) {
                throw new BootException("--net: this build has no virtio network device");
            }
            verbose.add(String.format("Guest: %#x - %#x (%#x)", 0, layout.totalBytes(), layout.totalBytes()));
            verbose.add(String.format("Devices: descriptor page at %#x, %d attached", layout.deviceDescriptorPage(),
                    number));
            if (spec.verbose()) {
                verbose.forEach(lines::diagnostic);
            }
            awaitDevice();
            RunningGuest[] self = new RunningGuest[1];
            RunningGuest session = new RunningGuest(
                    () -> lguestDevice.await(DEVICE_WAIT_SECONDS, TimeUnit.SECONDS), launcherMemory, arena, layout, pgdir, kernel.entry(), out,
                    devices, host, () -> {
                        running.remove(self[0]);
                        lines.finish();
                    });
            self[0] = session;
            session.enableSnapshots(() -> List.copyOf(stateSections), buildDescription());
            running.add(session);
            session.start();
            // A device service may have gone between attach and now: catch up.
            session.reconcileDevices(List.copyOf(launcherDevices));
            handedOver = true;
            return session;
        } finally {
            if (!handedOver) {
                for (GuestDevice d : opened) {
                    d.close();
                }
                arena.close();
            }
        }
    }

    // ---- snapshots ----

    @Override
    public Saved save(int guestId, Path file, boolean thenStop) throws SnapshotException {
        RunningGuest guest = running.stream()
                .filter(r -> r.guest().map(g -> g.id() == guestId && !g.isDead()).orElse(false))
                .findFirst().orElseThrow(() -> new SnapshotException("no guest " + guestId + " runs here"));
        return save(guest, file, thenStop);
    }

    @Override
    public Saved save(GuestSession session, Path file, boolean thenStop) throws SnapshotException {
        if (!(session instanceof RunningGuest guest) || !running.contains(guest)) {
            throw new SnapshotException("that guest does not run on this Launcher (any more)");
        }
        try {
            return guest.save(file, thenStop);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SnapshotException("interrupted while saving the guest");
        }
    }

    /**
     * A guest from a snapshot: the file is read and checked whole, then this build is
     * checked for every component and device it needs, before any memory is taken.
     * Memory comes back first (the device page and rings are in it), then the devices
     * (adopted from their saved state, as in a hand-over), then the guest is set up
     * through /dev/lguest as a booted one is, and its thread reads the components'
     * sections back before the guest's first instruction. This returns once that is
     * done, or throws with what went wrong.
     */
    @Override
    public GuestSession restore(Path file, Path block, List<String> networks, OutputStream console,
                                InputStream input) throws SnapshotException {
        if (networks.size() > 1) {
            throw new SnapshotException("one network per guest: " + String.join(", ", networks));
        }
        // A saved network card joins this network (its link was not a thing to save).
        String network = networks.isEmpty() ? null : networks.getFirst();
        return restore(SnapshotFile.read(file), null, null, block, network, console, input);
    }

    /** The restore's plan, and every device's service found, before a disk is opened or memory taken. */
    private GuestImage.Plan planRestore(SnapshotFile.Contents contents, List<LauncherDevice> kinds)
            throws SnapshotException {
        GuestImage.Plan plan = GuestImage.plan(contents, List.copyOf(stateSections), kinds);
        for (String name : plan.devices()) {
            SnapshotFile.Section section = contents.section(DeviceSections.sectionName(name)).orElseThrow();
            SectionReader peek = new SectionReader(section.name(), section.payload());
            GuestImage.kindFor(peek.readString(64), peek.readInt(), kinds);
        }
        return plan;
    }

    /**
     * A migration's rehearsal (see {@link MigrationWire#REHEARSAL}): {@code contents} is
     * planned and its devices' sections read, as {@link #restore} will with the final
     * state, and nothing of it kept (a disk opened is closed again); the /dev/lguest
     * device is found. The restore's code then runs once while the guest still runs at
     * the source, not for the first time in the stop-and-copy (a new process loads and
     * links its classes on their first use: 45 ms of a cold destination's restore).
     */
    void rehearseRestore(SnapshotFile.Contents contents, Path block) throws SnapshotException {
        List<LauncherDevice> kinds = devicesInOrder();
        GuestImage.Plan plan = planRestore(contents, kinds);
        long totalBytes = new GuestLayout(plan.memoryBytes()).totalBytes();
        for (String name : plan.devices()) {
            SnapshotFile.Section section = contents.section(DeviceSections.sectionName(name)).orElseThrow();
            SectionReader peek = new SectionReader(section.name(), section.payload());
            boolean disk = GuestImage.kindFor(peek.readString(64), peek.readInt(), kinds).type() == VIRTIO_ID_BLOCK;
            GuestDevices.SavedDevice saved = DeviceSections.decode(new SectionReader(section.name(),
                    section.payload()), totalBytes, disk ? block : null, null);
            if (saved.state() instanceof BlockState b) {
                try {
                    b.file().close();
                } catch (IOException ignored) {
                    // Opened only to see that it opens.
                }
            }
        }
        try {
            awaitDevice();
        } catch (BootException e) {
            throw new SnapshotException(e.getMessage());
        }
    }

    /**
     * A restore from {@code contents}; with {@code givenArena}, into {@code givenMemory}
     * (a migration's, filled already: the memory section then holds no pages). A
     * restore that fails may or may not have closed the given arena.
     */
    GuestSession restore(SnapshotFile.Contents contents, Arena givenArena, MemorySegment givenMemory, Path block,
                         String network, OutputStream console, InputStream input) throws SnapshotException {
        List<LauncherDevice> kinds = devicesInOrder();
        GuestImage.Plan plan = planRestore(contents, kinds);
        ConsoleLines lines = new ConsoleLines(console, diagnostics);
        PrintStream out = lines.console();
        GuestLayout layout = new GuestLayout(plan.memoryBytes());
        if (givenMemory != null && givenMemory.byteSize() != layout.totalBytes()) {
            throw new SnapshotException("the guest's state is for " + layout.totalBytes()
                    + " bytes of memory; " + givenMemory.byteSize() + " came");
        }
        Arena arena = givenArena != null ? givenArena : Arena.ofShared();
        List<GuestDevices.SavedDevice> opened = new ArrayList<>();
        GuestDevices devices = null;
        boolean handedOver = false;
        try {
            MemorySegment launcherMemory;
            try {
                launcherMemory = givenMemory != null ? givenMemory
                        : GuestRam.allocate(arena, layout.totalBytes());
            } catch (OutOfMemoryError e) {
                throw new SnapshotException("no memory for the snapshot's " + (plan.memoryBytes() >> 20) + " MB guest");
            }
            GuestMemory memory = new GuestMemory(launcherMemory);
            // A new device page starts cleared; a migration's memory came with the guest's
            // own device page and rings, which go back in place.
            byte[] deviceArea = givenMemory == null ? null
                    : memory.read(layout.deviceDescriptorPage(), (int) (layout.totalBytes() - layout.deviceDescriptorPage()));
            devices = new GuestDevices(memory, layout);
            if (deviceArea != null) {
                memory.write(layout.deviceDescriptorPage(), deviceArea);
            }
            SnapshotFile.Section ram = contents.section(GuestImage.MEMORY_SECTION).orElseThrow();
            RamImage.decode(ram.name(), ram.payload(), launcherMemory);
            LauncherDeviceHost host = new LauncherDeviceHost(lines, input, false);
            for (String name : plan.devices()) {
                SnapshotFile.Section section = contents.section(DeviceSections.sectionName(name)).orElseThrow();
                SectionReader peek = new SectionReader(section.name(), section.payload());
                boolean disk = GuestImage.kindFor(peek.readString(64), peek.readInt(), kinds).type() == VIRTIO_ID_BLOCK;
                GuestDevices.SavedDevice saved = DeviceSections.decode(
                        new SectionReader(section.name(), section.payload()), layout.totalBytes(), disk ? block : null,
                        network);
                opened.add(saved);
                LauncherDevice kind = GuestImage.kindFor(saved.name(), saved.type(), kinds);
                String problem = devices.restore(saved, kind, host);
                if (problem != null) {
                    throw new SnapshotException("the " + name + " device cannot be restored: " + problem);
                }
            }
            if (block != null && plan.devices().stream().noneMatch(d -> opened.stream()
                    .anyMatch(o -> o.name().equals(d) && o.type() == VIRTIO_ID_BLOCK))) {
                throw new SnapshotException("--block: the snapshot's guest has no disk");
            }
            if (network != null && opened.stream().noneMatch(o -> o.state() instanceof SavedNetState)) {
                throw new SnapshotException("--net=" + network + ": the snapshot's guest has no network card");
            }
            try {
                awaitDevice();
            } catch (BootException e) {
                throw new SnapshotException(e.getMessage());
            }
            RunningGuest[] self = new RunningGuest[1];
            RunningGuest session = new RunningGuest(
                    () -> lguestDevice.await(DEVICE_WAIT_SECONDS, TimeUnit.SECONDS), launcherMemory, arena, layout,
                    plan.initializePgdir(), plan.entry(), out, devices, host, () -> {
                        running.remove(self[0]);
                        lines.finish();
                    });
            self[0] = session;
            session.enableSnapshots(() -> List.copyOf(stateSections), buildDescription());
            session.restoreFrom(plan);
            running.add(session);
            session.start();
            handedOver = true;
            try {
                session.awaitRestored();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                session.stop();
                throw new SnapshotException("interrupted while restoring the guest");
            } catch (SnapshotException e) {
                session.stop();
                throw e;
            }
            session.reconcileDevices(List.copyOf(launcherDevices));
            return session;
        } finally {
            if (!handedOver) {
                if (devices != null) {
                    devices.close();
                }
                for (GuestDevices.SavedDevice d : opened) {
                    if (d.state() instanceof BlockState b) {
                        try {
                            b.file().close();
                        } catch (IOException ignored) {
                            // Closing what we opened ourselves; nothing to tell.
                        }
                    }
                }
                arena.close();
            }
        }
    }

    // ---- live migration ----

    @Override
    public Migrated migrate(int guestId, String host, int port) throws SnapshotException {
        RunningGuest guest = running.stream()
                .filter(r -> r.guest().map(g -> g.id() == guestId && !g.isDead()).orElse(false))
                .findFirst().orElseThrow(() -> new SnapshotException("no guest " + guestId + " runs here"));
        return migrate(guest, host, port);
    }

    @Override
    public Migrated migrate(GuestSession session, String host, int port) throws SnapshotException {
        if (!(session instanceof RunningGuest guest) || !running.contains(guest)) {
            throw new SnapshotException("that guest does not run on this Launcher (any more)");
        }
        try {
            return new OutgoingMigration(guest, () -> shadowPageTables, host, port).run();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SnapshotException("interrupted while migrating the guest; it runs on here");
        }
    }

    @Override
    public GuestSession receive(java.net.ServerSocket server, Path block, OutputStream console, InputStream input)
            throws SnapshotException {
        return IncomingMigration.receive(this, server, block, console, input);
    }

    /** What a snapshot says built it: this Launcher's bundle and the bundles of every section. */
    private String buildDescription() {
        StringBuilder b = new StringBuilder(describe(LauncherComponent.class));
        for (GuestStateSection s : GuestImage.inOrder(List.copyOf(stateSections))) {
            b.append(", ").append(describe(s.getClass()));
        }
        return b.toString();
    }

    private static String describe(Class<?> type) {
        Bundle bundle = FrameworkUtil.getBundle(type);
        return bundle == null ? type.getName() : bundle.getSymbolicName() + " " + bundle.getVersion();
    }

    /**
     * The devices in a stable order: by type, highest first, so the console comes
     * first as the guest's hvc0, then disks, then the network; then by name.
     */
    private List<LauncherDevice> devicesInOrder() {
        List<LauncherDevice> sorted = new ArrayList<>(launcherDevices);
        sorted.sort(Comparator.comparingInt(LauncherDevice::type).reversed().thenComparing(LauncherDevice::name));
        return sorted;
    }

    private LguestDevice awaitDevice() throws BootException {
        try {
            LguestDevice d = lguestDevice.await(DEVICE_WAIT_SECONDS, TimeUnit.SECONDS);
            if (d == null) {
                throw new BootException("no /dev/lguest device in this build");
            }
            return d;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BootException("interrupted while waiting for /dev/lguest");
        }
    }

    /**
     * The initrd, refused by its size before it is read when it cannot fit (a file of
     * gigabytes named by mistake must not be read into the Launcher's heap first), and,
     * when the boot asks ({@code inflate}), inflated if it is gzip-compressed and its
     * archive fits too.
     */
    static byte[] readInitrd(Path path, GuestLayout layout, int megabytes, boolean inflate) throws BootException {
        long size;
        try {
            size = Files.size(path);
        } catch (NoSuchFileException e) {
            throw new BootException(String.format("cannot open initrd %s: no such file", path));
        } catch (IOException e) {
            throw new BootException(String.format("cannot read initrd %s: %s", path, e.getMessage()));
        }
        if (!initrdFits(layout, size)) {
            throw initrdTooBig(path, size, megabytes);
        }
        byte[] initrd = readFile(path, "initrd");
        if (!initrdFits(layout, initrd.length)) {
            // It grew between the two looks.
            throw initrdTooBig(path, initrd.length, megabytes);
        }
        // The guest unpacks a gzip initrd slowly with its CPU, the host fast: asked to, it
        // gets the archive inflated when that fits (InflatedInitrd says why, and when not).
        // By default it gets the file as it is, as lguest's Launcher gives it.
        return inflate ? InflatedInitrd.inflatedOrAsIs(initrd, inflated -> initrdFits(layout, inflated)) : initrd;
    }

    /** Room for the initrd at the top, its page tables below it, and the kernel's first byte at 1 MiB. */
    private static boolean initrdFits(GuestLayout layout, long size) {
        return size <= layout.memoryBytes && layout.initrdBase(size) - layout.pageTableBytes() >= KERNEL_ADDRESS;
    }

    private static BootException initrdTooBig(Path path, long size, int megabytes) {
        return new BootException(String.format("the initrd %s (%d bytes) does not fit in %d MB of guest memory",
                path, size, megabytes));
    }

    private static byte[] readFile(Path path, String what) throws BootException {
        try {
            return Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new BootException(String.format("cannot open %s %s: no such file", what, path));
        } catch (IOException | OutOfMemoryError e) {
            throw new BootException(String.format("cannot read %s %s: %s", what, path, e.getMessage()));
        }
    }
}
