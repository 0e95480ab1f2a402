package dev.lguest.launcher;

import dev.lguest.api.launcher.ConfigField;
import dev.lguest.api.launcher.NetState;
import dev.lguest.api.launcher.QueuePosition;
import dev.lguest.api.launcher.SavedNetState;
import dev.lguest.api.net.FrameReceiver;
import dev.lguest.api.net.NetworkLink;
import dev.lguest.api.snapshot.SectionReader;
import dev.lguest.api.snapshot.SectionWriter;
import dev.lguest.api.snapshot.SnapshotException;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A network card's section in a snapshot: what its hand-over state holds but the link
 * (MAC, features, what it was on, counts, waiting frames) goes into the file and
 * comes back as a card for the network the restore names; a restore naming none is
 * refused in one line; a section a hostile file makes (too many frames, a MAC of the
 * wrong size, a negative count) is refused before anything is built from it.
 */
class DeviceSectionsTest {
    private static final long TOTAL = new GuestLayout(64L << 20).totalBytes();
    private static final long RING = TOTAL - 4 * 4096L;
    private static final byte[] MAC = {2, 0x11, 0x22, 0x33, 0x44, 0x55};
    private static final List<ConfigField> CONFIG = List.of(new ConfigField(0x40, new byte[32]),
            new ConfigField(0x41, MAC));
    private static final List<GuestDevices.RingPlace> RINGS = List.of(
            new GuestDevices.RingPlace(RING - 3 * 4096L, 2, new QueuePosition(17, 17)),
            new GuestDevices.RingPlace(RING, 3, new QueuePosition(40, 39)));

    /** The link a card is on when it is saved: only its description goes into the file. */
    private static final class SwitchPort implements NetworkLink {
        @Override
        public void send(byte[] frame, int length) {
        }

        @Override
        public void receiveWith(FrameReceiver receiver) {
        }

        @Override
        public String describe() {
            return "switch lan0";
        }

        @Override
        public long dropped() {
            return 0;
        }

        @Override
        public void close() {
        }
    }

    private static GuestDevices.SavedDevice savedCard(List<byte[]> waiting) {
        BlockingQueue<byte[]> pending = new ArrayBlockingQueue<>(1024);
        pending.addAll(waiting);
        Map<String, Long> counters = new LinkedHashMap<>();
        counters.put("tx.frames", 1234L);
        counters.put("rx.dropped.queue-full", 7L);
        return new GuestDevices.SavedDevice("net", 1, CONFIG, RINGS,
                new NetState(MAC, 0, new SwitchPort(), pending, counters));
    }

    private static GuestDevices.SavedDevice decode(byte[] section, String network) throws SnapshotException {
        return DeviceSections.decode(new SectionReader(DeviceSections.sectionName("net"), section), TOTAL, null,
                network);
    }

    @Test
    void aNetworkCardComesBackForTheNamedNetworkWithItsMacCountsAndWaitingFrames() throws Exception {
        byte[] first = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
        byte[] second = new byte[1514];
        second[1513] = 42;
        GuestDevices.SavedDevice back = decode(DeviceSections.encode(savedCard(List.of(first, second))),
                "switch:lan1");

        assertEquals("net", back.name());
        assertEquals(1, back.type());
        assertEquals(RINGS, back.rings());
        assertArrayEquals(MAC, back.config().get(1).data());
        SavedNetState card = (SavedNetState) back.state();
        assertArrayEquals(MAC, card.mac());
        assertEquals(0, card.hostFeatures());
        assertEquals(2, card.pendingFrames().size());
        assertArrayEquals(first, card.pendingFrames().get(0), "oldest first");
        assertArrayEquals(second, card.pendingFrames().get(1));
        assertEquals(Map.of("tx.frames", 1234L, "rx.dropped.queue-full", 7L), card.counters());
        assertEquals("switch lan0", card.savedOn());
        assertEquals("switch:lan1", card.network());
    }

    @Test
    void aCardWithoutANetworkToJoinIsRefusedSayingWhatItWasOn() throws Exception {
        byte[] section = DeviceSections.encode(savedCard(List.of()));
        SnapshotException e = assertThrows(SnapshotException.class, () -> decode(section, null));
        assertEquals("the guest has a network card (on switch lan0 when saved): name the network it joins now,"
                + " e.g. --net=switch:NAME", e.getMessage());
    }

    @Test
    void aFloodOfWaitingFramesIsSavedOnlyAsFarAsACardHoldsThem() throws Exception {
        List<byte[]> flood = new java.util.ArrayList<>();
        for (int i = 0; i < DeviceSections.MAX_PENDING_FRAMES + 10; i++) {
            flood.add(new byte[] {(byte) i});
        }
        SavedNetState card = (SavedNetState) decode(DeviceSections.encode(savedCard(flood)), "switch:x").state();
        assertEquals(DeviceSections.MAX_PENDING_FRAMES, card.pendingFrames().size());
        assertEquals(0, card.pendingFrames().getFirst()[0], "the oldest are kept");
    }

    /** A card's section as a hostile file could write it (with one frame at most, whatever the count says). */
    private static byte[] handMade(byte[] mac, long counter, int frames, int frameBytes) {
        SectionWriter out = new SectionWriter().writeString("net").writeInt(1).writeInt(0);
        out.writeInt(RINGS.size());
        for (GuestDevices.RingPlace r : RINGS) {
            out.writeLong(r.address()).writeInt(r.irq()).writeInt(r.position().lastAvailable())
                    .writeInt(r.position().usedIndex());
        }
        out.writeString("net").writeBytes(mac).writeInt(0).writeString("switch lan0");
        out.writeInt(1).writeString("tx.frames").writeLong(counter);
        out.writeInt(frames);
        for (int i = 0; i < Math.min(frames, 1); i++) {
            out.writeBytes(new byte[frameBytes]);
        }
        return out.toByteArray();
    }

    @Test
    void aHandMadeSectionThatCannotBeACardIsRefused() throws Exception {
        assertEquals(1, ((SavedNetState) decode(handMade(MAC, 3, 1, 60), "switch:x").state()).pendingFrames().size(),
                "the hand-made section is a good one as it stands");
        assertThrows(SnapshotException.class, () -> decode(handMade(new byte[5], 3, 1, 60), "switch:x"));
        assertThrows(SnapshotException.class, () -> decode(handMade(new byte[7], 3, 1, 60), "switch:x"));
        assertTrue(assertThrows(SnapshotException.class, () -> decode(handMade(MAC, -1, 1, 60), "switch:x"))
                .getMessage().contains("counter tx.frames is -1"));
        assertTrue(assertThrows(SnapshotException.class,
                () -> decode(handMade(MAC, 3, DeviceSections.MAX_PENDING_FRAMES + 1, 60), "switch:x"))
                .getMessage().contains("frames waiting"));
        assertThrows(SnapshotException.class, () -> decode(handMade(MAC, 3, -1, 60), "switch:x"));
        assertThrows(SnapshotException.class, () -> decode(handMade(MAC, 3, 1, 65537), "switch:x"));
        assertThrows(SnapshotException.class, () -> decode(handMade(MAC, 3, 2, 60), "switch:x"),
                "a frame fewer than the count says: the section ends early");
    }
}
