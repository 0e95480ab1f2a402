package dev.lguest.launcher;

import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.hypercalls.HypercallHandler;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.LauncherDevice;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.snapshot.GuestStateSection;
import dev.lguest.api.snapshot.RamImage;
import dev.lguest.api.snapshot.SectionReader;
import dev.lguest.api.snapshot.SectionWriter;
import dev.lguest.api.snapshot.SnapshotException;
import dev.lguest.api.snapshot.SnapshotFile;
import dev.lguest.api.snapshot.SnapshotFile.Contents;
import dev.lguest.api.snapshot.SnapshotFile.Section;
import dev.lguest.api.switcher.Switcher;
import dev.lguest.api.traps.TrapDelivery;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A guest as its snapshot holds it, from the Launcher's side: which sections there
 * are, in which order they are written and read back, and the Launcher's own two (its
 * memory layout and device list, and the RAM).
 *
 * Capture runs on the guest's thread with the guest stopped between two runs. The
 * components' sections come back in an order that lets each check what it reads: the
 * page directory first (the kernel stack is pinned through it), the GDT before the
 * CPU (whose segments are loaded from it), the CPU last.
 */
final class GuestImage {
    static final String LAUNCHER_SECTION = GuestLauncher.class.getName();
    static final String MEMORY_SECTION = GuestMemory.class.getName();
    static final int LAUNCHER_VERSION = 1;
    static final int MEMORY_VERSION = 1;
    private static final int MAX_DEVICES = 16;

    /** The components every guest has a section for, in the order they are read back, and their names for users. */
    static final Map<String, String> COMPONENTS = orderedComponents();

    private static Map<String, String> orderedComponents() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(ShadowPageTables.class.getName(), "shadow page tables");
        m.put(SegmentManager.class.getName(), "segment manager");
        m.put(TrapDelivery.class.getName(), "trap delivery");
        m.put(HypercallHandler.class.getName(), "hypercall handler");
        m.put(Switcher.class.getName(), "switcher");
        m.put(X86CpuFactory.class.getName(), "CPU");
        return m;
    }

    /** What a restore needs from the file, checked before anything is built. */
    record Plan(Contents contents, long memoryBytes, long totalBytes, int initializePgdir, int entry,
                List<String> devices, List<Restorer> components) {
    }

    /** One component section and the service of this build that reads it. */
    record Restorer(GuestStateSection service, Section section) {
    }

    private GuestImage() {
    }

    /**
     * A guest taken: every section but memory's, and a copy of its memory's non-zero
     * pages, compressed into the last section by {@link #contents()} once the guest runs on.
     */
    record Capture(String build, long savedAtMillis, List<Section> sections, RamImage.Copy ram) {
        Contents contents() {
            List<Section> all = new ArrayList<>(sections);
            all.add(new Section(MEMORY_SECTION, MEMORY_VERSION, RamImage.encode(ram).payload()));
            return new Contents(build, savedAtMillis, all);
        }

        int ramPages() {
            return ram.pfns().length;
        }
    }

    /** The whole guest now (without its memory if {@code launcherMemory} is null); on its thread, the guest stopped. */
    static Capture capture(Guest guest, MemorySegment launcherMemory, GuestLayout layout, int bootPgdir, int entry,
                            GuestDevices devices, List<GuestStateSection> services, String build)
            throws SnapshotException {
        List<Section> sections = new ArrayList<>();
        List<GuestDevices.SavedDevice> saved = devices.capture();
        SectionWriter launcher = new SectionWriter().writeLong(layout.memoryBytes).writeLong(layout.totalBytes())
                .writeInt(initializePgdir(guest, bootPgdir)).writeInt(entry).writeInt(saved.size());
        saved.forEach(d -> launcher.writeString(d.name()));
        sections.add(new Section(LAUNCHER_SECTION, LAUNCHER_VERSION, launcher.toByteArray()));
        for (GuestStateSection s : inOrder(services)) {
            SectionWriter out = new SectionWriter();
            s.save(guest, out);
            sections.add(new Section(s.name(), s.version(), out.toByteArray()));
        }
        for (String component : COMPONENTS.keySet()) {
            if (sections.stream().noneMatch(s -> s.name().equals(component))) {
                throw new SnapshotException("this build cannot save the " + COMPONENTS.get(component)
                        + "'s state (no snapshot section for " + component + ")");
            }
        }
        for (GuestDevices.SavedDevice d : saved) {
            sections.add(new Section(DeviceSections.sectionName(d.name()), DeviceSections.VERSION,
                    DeviceSections.encode(d)));
        }
        // No memory (a migration): its pages travel apart, and the section holds none.
        RamImage.Copy ram = launcherMemory != null ? RamImage.copy(launcherMemory)
                : new RamImage.Copy(layout.totalBytes(), new int[0], new byte[0][]);
        return new Capture(build, System.currentTimeMillis(), sections, ram);
    }

    /**
     * The page directory a restore's LHREQ_INITIALIZE names: the one the guest runs on
     * now, not the one the Launcher built for its boot. The MMU judges that directory
     * as it takes it (nothing may sit in the switcher's slot), but once the guest runs
     * its own tables the boot page is free memory the guest reuses for anything, and
     * a restore judging it refused a sound guest whenever the page held something
     * there by chance. Before the guest ever ran, they are the same page.
     */
    private static int initializePgdir(Guest guest, int bootPgdir) {
        int running = guest.paging.guestPgdir;
        return running != 0 ? running : bootPgdir;
    }

    /** The section services in restore order: the known components first, any others by name. */
    static List<GuestStateSection> inOrder(List<GuestStateSection> services) {
        List<String> order = List.copyOf(COMPONENTS.keySet());
        List<GuestStateSection> sorted = new ArrayList<>(services);
        sorted.sort(Comparator.<GuestStateSection>comparingInt(s -> {
            int i = order.indexOf(s.name());
            return i < 0 ? order.size() : i;
        }).thenComparing(GuestStateSection::name));
        // One service per name: during a swap two copies of a bundle may offer the same section.
        List<GuestStateSection> unique = new ArrayList<>();
        for (GuestStateSection s : sorted) {
            if (unique.stream().noneMatch(u -> u.name().equals(s.name()))) {
                unique.add(s);
            }
        }
        return unique;
    }

    /**
     * Checks that this build can restore every section of {@code contents}: each
     * component section has a service of that name reading its version, each device a
     * device service of its type. Says in one line what is missing.
     */
    static Plan plan(Contents contents, List<GuestStateSection> services, List<LauncherDevice> deviceKinds)
            throws SnapshotException {
        Section launcher = contents.section(LAUNCHER_SECTION)
                .orElseThrow(() -> new SnapshotException("the snapshot has no " + LAUNCHER_SECTION + " section"));
        if (launcher.version() != LAUNCHER_VERSION) {
            throw tooNew(launcher, LAUNCHER_VERSION);
        }
        SectionReader in = new SectionReader(launcher.name(), launcher.payload());
        long memoryBytes = in.readLong();
        long totalBytes = in.readLong();
        int initializePgdir = in.readInt();
        int entry = in.readInt();
        int deviceCount = in.readInt();
        if (deviceCount < 0 || deviceCount > MAX_DEVICES) {
            throw new SnapshotException("the snapshot lists " + deviceCount + " devices");
        }
        List<String> devices = new ArrayList<>();
        for (int i = 0; i < deviceCount; i++) {
            devices.add(in.readString(64));
        }
        in.expectEnd();
        long memoryMegabytes = memoryBytes >> 20;
        if (memoryBytes <= 0 || (memoryBytes & ((1 << 20) - 1)) != 0
                || memoryMegabytes < LauncherComponent.MIN_MEMORY_MB
                || memoryMegabytes > LauncherComponent.MAX_MEMORY_MB
                || totalBytes != new GuestLayout(memoryBytes).totalBytes()) {
            throw new SnapshotException("the snapshot's guest memory (" + memoryBytes + " bytes, " + totalBytes
                    + " with its devices) is not one this Launcher lays out");
        }
        Section memory = contents.section(MEMORY_SECTION)
                .orElseThrow(() -> new SnapshotException("the snapshot has no guest memory section"));
        if (memory.version() != MEMORY_VERSION) {
            throw tooNew(memory, MEMORY_VERSION);
        }
        for (String device : devices) {
            contents.section(DeviceSections.sectionName(device)).orElseThrow(() -> new SnapshotException(
                    "the snapshot lists a " + device + " device but has no section for it"));
        }
        List<GuestStateSection> known = inOrder(services);
        List<Restorer> components = new ArrayList<>();
        for (GuestStateSection service : known) {
            contents.section(service.name()).ifPresent(s -> components.add(new Restorer(service, s)));
        }
        for (Section s : contents.sections()) {
            String name = s.name();
            if (name.equals(LAUNCHER_SECTION) || name.equals(MEMORY_SECTION)) {
                continue;
            }
            if (name.startsWith(DeviceSections.PREFIX)) {
                if (s.version() > DeviceSections.VERSION) {
                    throw tooNew(s, DeviceSections.VERSION);
                }
                if (!devices.contains(name.substring(DeviceSections.PREFIX.length()))) {
                    throw new SnapshotException("the snapshot has a section " + name + " for a device it does not list");
                }
                continue;
            }
            Restorer r = components.stream().filter(c -> c.section().name().equals(name)).findFirst()
                    .orElseThrow(() -> new SnapshotException("this build has no " + COMPONENTS.getOrDefault(name, name)
                            + " that reads the snapshot's section " + name));
            if (s.version() > r.service().version()) {
                throw tooNew(s, r.service().version());
            }
        }
        for (String component : COMPONENTS.keySet()) {
            if (contents.section(component).isEmpty()) {
                throw new SnapshotException("the snapshot has no section for the " + COMPONENTS.get(component)
                        + " (" + component + ")");
            }
        }
        return new Plan(contents, memoryBytes, totalBytes, initializePgdir, entry, devices, components);
    }

    /** The device service of this build that takes a saved device: its type, its name first. */
    static LauncherDevice kindFor(String name, int type, List<LauncherDevice> kinds) throws SnapshotException {
        LauncherDevice sameType = null;
        for (LauncherDevice k : kinds) {
            if (k.type() == type) {
                if (k.name().equals(name)) {
                    return k;
                }
                if (sameType == null) {
                    sameType = k;
                }
            }
        }
        if (sameType == null) {
            throw new SnapshotException("this build has no virtio " + name + " device (virtio type " + type
                    + "), which the snapshot needs");
        }
        return sameType;
    }

    /** Reads every component section back into the new guest, in order; on the guest's thread, before it runs. */
    static void restoreComponents(Guest guest, Plan plan) throws SnapshotException {
        for (Restorer r : plan.components()) {
            r.service().restore(guest, r.section().version(), new SectionReader(r.section().name(),
                    r.section().payload()));
            if (guest.isDead()) {
                throw new SnapshotException("the guest could not be restored: " + guest.deadReason());
            }
        }
    }

    private static SnapshotException tooNew(Section s, int readable) {
        return new SnapshotException(String.format("the snapshot's section %s is version %d; this build reads up to %d",
                s.name(), s.version(), readable));
    }
}
