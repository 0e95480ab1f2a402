package dev.lguest.launcher;

import dev.lguest.api.guest.Lguest;
import dev.lguest.api.launcher.BlockState;
import dev.lguest.api.launcher.ConfigField;
import dev.lguest.api.launcher.ConsoleState;
import dev.lguest.api.launcher.DeviceState;
import dev.lguest.api.launcher.LauncherDevice;
import dev.lguest.api.launcher.NetState;
import dev.lguest.api.launcher.QueuePosition;
import dev.lguest.api.launcher.SavedNetState;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.snapshot.SectionReader;
import dev.lguest.api.snapshot.SectionWriter;
import dev.lguest.api.snapshot.SnapshotException;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A device in a snapshot: one section per device, named after the device service and
 * the device ("dev.lguest.api.launcher.LauncherDevice/block"), holding what a
 * hand-over carries: the configuration the guest read, where its rings are and where
 * the Launcher stands in them, and the device's own state, which is one of the API's
 * state records (a console's undelivered keystrokes; a disk's file name, capacity and
 * features; a network card's MAC address, counts and the frames waiting for the
 * guest). A disk's file is not in the snapshot: it is reopened by name (or the one
 * the restore names instead), and must still hold the capacity the guest was told.
 * Nor is a network card's link, a live connection: the card comes back as a
 * {@link SavedNetState} on the network the restore names, and a restore that names
 * none is refused, saying what the card was on.
 */
final class DeviceSections {
    static final int VERSION = 1;
    static final String PREFIX = LauncherDevice.class.getName() + "/";
    private static final int MAX_NAME = 64;
    private static final int MAX_FIELDS = 32;
    private static final int MAX_QUEUES = 8;
    private static final int MAX_PENDING_INPUT = 1 << 20;
    private static final int MAX_PATH = 4096;
    private static final int MAC_BYTES = 6;
    private static final int MAX_DESCRIPTION = 256;
    private static final int MAX_COUNTERS = 32;
    /** As many frames as a card lets wait for receive buffers (virtio-net's PENDING_LIMIT), each at most 64 KiB. */
    static final int MAX_PENDING_FRAMES = 512;
    private static final int MAX_FRAME_BYTES = 65536;

    private DeviceSections() {
    }

    static String sectionName(String device) {
        return PREFIX + device;
    }

    static byte[] encode(GuestDevices.SavedDevice d) throws SnapshotException {
        SectionWriter out = new SectionWriter();
        out.writeString(d.name()).writeInt(d.type());
        out.writeInt(d.config().size());
        for (ConfigField f : d.config()) {
            out.writeInt(f.type()).writeBytes(f.data());
        }
        out.writeInt(d.rings().size());
        for (GuestDevices.RingPlace r : d.rings()) {
            out.writeLong(r.address()).writeInt(r.irq()).writeInt(r.position().lastAvailable())
                    .writeInt(r.position().usedIndex());
        }
        switch (d.state()) {
            case ConsoleState c -> out.writeString("console").writeBytes(c.pendingInput());
            case BlockState b -> {
                try {
                    // What the guest wrote is in the file before the snapshot says it is.
                    b.file().force(true);
                } catch (IOException e) {
                    throw new SnapshotException("cannot flush the disk " + b.path() + ": " + e.getMessage());
                }
                out.writeString("block").writeString(b.path().toAbsolutePath().toString())
                        .writeLong(b.capacitySectors()).writeInt(b.hostFeatures()).writeInt(b.segmentMax());
            }
            case NetState n -> encodeNet(out, n);
            case null, default -> throw new SnapshotException("the " + d.name() + " device's state ("
                    + (d.state() == null ? "none" : d.state().getClass().getSimpleName()) + ") cannot be saved");
        }
        return out.toByteArray();
    }

    /** A network card without its link: MAC, features, what it was on, counts, and the waiting frames (oldest first). */
    private static void encodeNet(SectionWriter out, NetState n) {
        out.writeString("net").writeBytes(n.mac()).writeInt(n.hostFeatures())
                .writeString(n.link() == null ? "no link" : n.link().describe());
        out.writeInt(n.counters().size());
        n.counters().forEach((name, value) -> out.writeString(name).writeLong(value));
        // The queue may still be filling (its link delivers on another thread): what is
        // in it now is saved, and a frame that comes later is one the wire lost.
        List<byte[]> frames = List.copyOf(n.pendingFrames());
        frames = frames.subList(0, Math.min(frames.size(), MAX_PENDING_FRAMES));
        out.writeInt(frames.size());
        frames.forEach(out::writeBytes);
    }

    /**
     * Reads a device section back, checking it against the restored guest's memory
     * ({@code totalBytes}, device pages included); a disk is opened here, from
     * {@code blockOverride} if not null; a network card is put on {@code network}
     * ("KIND:ARG"), and without one the restore is refused. The caller closes a disk it
     * does not use.
     */
    static GuestDevices.SavedDevice decode(SectionReader in, long totalBytes, Path blockOverride, String network)
            throws SnapshotException {
        String section = in.section();
        String name = in.readString(MAX_NAME);
        int type = in.readInt();
        int fields = in.readInt();
        if (fields < 0 || fields > MAX_FIELDS) {
            throw new SnapshotException("section " + section + " has " + fields + " configuration fields");
        }
        List<ConfigField> config = new ArrayList<>();
        for (int i = 0; i < fields; i++) {
            int fieldType = in.readInt();
            byte[] data = in.readBytes(-1, 0xff);
            if (fieldType < 0 || fieldType > 0x7f) {
                throw new SnapshotException("section " + section + " has a configuration field of type " + fieldType);
            }
            config.add(new ConfigField(fieldType, data));
        }
        int queues = in.readInt();
        if (queues < 0 || queues > MAX_QUEUES) {
            throw new SnapshotException("section " + section + " has " + queues + " queues");
        }
        List<GuestDevices.RingPlace> rings = new ArrayList<>();
        long ringBytes = (long) VirtqueueRing.pages(DevicePage.QUEUE_ENTRIES) * PhysicalMemory.PAGE_SIZE;
        for (int q = 0; q < queues; q++) {
            long address = in.readLong();
            int irq = in.readInt();
            int lastAvailable = in.readInt();
            int usedIndex = in.readInt();
            if (address <= 0 || address % PhysicalMemory.PAGE_SIZE != 0 || address > totalBytes - ringBytes
                    || irq < 1 || irq >= Lguest.IRQS || (lastAvailable & ~0xffff) != 0 || (usedIndex & ~0xffff) != 0) {
                throw new SnapshotException(String.format("section %s: queue %d at %#x, irq %d, position %d/%d"
                        + " does not fit the guest", section, q, address, irq, lastAvailable, usedIndex));
            }
            rings.add(new GuestDevices.RingPlace(address, irq, new QueuePosition(lastAvailable, usedIndex)));
        }
        String kind = in.readString(MAX_NAME);
        DeviceState state = switch (kind) {
            case "console" -> {
                byte[] pending = in.readBytes(-1, MAX_PENDING_INPUT);
                yield new ConsoleState(pending, 0, 0);
            }
            case "block" -> {
                Path path = Path.of(in.readString(MAX_PATH));
                long capacity = in.readLong();
                int features = in.readInt();
                int segmentMax = in.readInt();
                in.expectEnd();
                yield new BlockState(blockOverride != null ? blockOverride : path,
                        openDisk(blockOverride != null ? blockOverride : path, capacity), capacity, features,
                        segmentMax);
            }
            case "net" -> decodeNet(in, network);
            default -> throw new SnapshotException("section " + section + " holds a device state '" + kind
                    + "' this build does not know");
        };
        in.expectEnd();
        return new GuestDevices.SavedDevice(name, type, config, rings, state);
    }

    private static SavedNetState decodeNet(SectionReader in, String network) throws SnapshotException {
        String section = in.section();
        byte[] mac = in.readBytes(MAC_BYTES, MAC_BYTES);
        int features = in.readInt();
        String savedOn = in.readString(MAX_DESCRIPTION);
        int counterCount = in.readInt();
        if (counterCount < 0 || counterCount > MAX_COUNTERS) {
            throw new SnapshotException("section " + section + " has " + counterCount + " counters");
        }
        Map<String, Long> counters = new LinkedHashMap<>();
        for (int i = 0; i < counterCount; i++) {
            String name = in.readString(MAX_NAME);
            long value = in.readLong();
            if (value < 0) {
                throw new SnapshotException("section " + section + ": counter " + name + " is " + value);
            }
            if (counters.putIfAbsent(name, value) != null) {
                throw new SnapshotException("section " + section + ": counter " + name + " appears twice");
            }
        }
        int frameCount = in.readInt();
        if (frameCount < 0 || frameCount > MAX_PENDING_FRAMES) {
            throw new SnapshotException("section " + section + " has " + frameCount
                    + " frames waiting (at most " + MAX_PENDING_FRAMES + ")");
        }
        List<byte[]> frames = new ArrayList<>();
        for (int i = 0; i < frameCount; i++) {
            frames.add(in.readBytes(-1, MAX_FRAME_BYTES));
        }
        in.expectEnd();
        if (network == null) {
            throw new SnapshotException("the guest has a network card (on " + savedOn
                    + " when saved): name the network it joins now, e.g. --net=switch:NAME");
        }
        return new SavedNetState(mac, features, frames, counters, savedOn, network);
    }

    private static FileChannel openDisk(Path path, long capacitySectors) throws SnapshotException {
        try {
            FileChannel file = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            long sectors = file.size() / 512;
            if (sectors < capacitySectors) {
                file.close();
                throw new SnapshotException(String.format("the disk %s has %d sectors; the guest was told %d",
                        path, sectors, capacitySectors));
            }
            return file;
        } catch (NoSuchFileException e) {
            throw new SnapshotException("cannot open the guest's disk " + path + ": no such file");
        } catch (IOException e) {
            throw new SnapshotException("cannot open the guest's disk " + path + ": " + e.getMessage());
        }
    }
}
