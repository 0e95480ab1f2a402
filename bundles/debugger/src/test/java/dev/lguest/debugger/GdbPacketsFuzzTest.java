/*
 * Coverage-guided fuzzing of the gdb stub's input: arbitrary bytes on the connection,
 * framed into packets and answered against a stopped guest, as a hostile or broken
 * peer on the stub's port would send them. What must hold: the framing either yields
 * packets or says the connection is malformed (then it is closed), never another
 * exception; every packet gets a reply or is a resumption the session carries out;
 * a reply can always be framed; and guest memory changes only where gdb wrote it
 * (M, X) or put a breakpoint, all inside the guest's mapped RAM by construction of
 * GuestMemory, which is the only memory the stub can reach.
 *
 * ./fuzz GdbPacketsFuzzTest#packetsAgainstAStoppedGuest 10m explores; ./mvnw verify
 * replays the inputs under src/test/resources/dev/lguest/debugger/GdbPacketsFuzzTestInputs/.
 */
package dev.lguest.debugger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;

class GdbPacketsFuzzTest {
    @FuzzTest
    void packetsAgainstAStoppedGuest(FuzzedDataProvider data) throws IOException {
        try (FakeGuest guest = new FakeGuest()) {
            byte[] ram = data.consumeBytes(64);
            guest.memory.write(0x1000, ram);
            Breakpoints breakpoints = new Breakpoints(guest.memory);
            GdbCommands commands = new GdbCommands(guest.memory, breakpoints);
            int[] resumptions = new int[1];
            GdbCommands.Control control = new GdbCommands.Control() {
                @Override
                public void resume(boolean step) {
                    resumptions[0]++;
                }

                @Override
                public void detach() {
                    resumptions[0]++;
                }

                @Override
                public void kill() {
                    resumptions[0]++;
                }
            };
            ByteArrayOutputStream acks = new ByteArrayOutputStream();
            RemotePackets packets = new RemotePackets(new ByteArrayInputStream(data.consumeRemainingAsBytes()), acks);
            while (true) {
                String packet;
                try {
                    packet = packets.read();
                } catch (RemotePackets.Malformed closed) {
                    break;
                }
                if (packet == null) {
                    break;
                }
                if (packet.equals(RemotePackets.INTERRUPT)) {
                    continue;
                }
                boolean writes = !packet.isEmpty() && "MXZzGP".indexOf(packet.charAt(0)) >= 0;
                byte[] before = writes ? null : snapshot(guest);
                int resumed = resumptions[0];
                String reply = commands.handle(packet, guest, "S05", control);
                if (reply == null) {
                    assertEquals(resumed + 1, resumptions[0], "no reply only for a resumption: " + packet);
                } else {
                    assertTrue(RemotePackets.frame(reply).length >= 4);
                }
                if (before != null) {
                    assertTrue(Arrays.equals(before, snapshot(guest)), "memory changed by " + packet);
                }
            }
            // Every breakpoint out: what gdb did not write is as it was.
            breakpoints.clear(guest.state());
        }
    }

    private static byte[] snapshot(FakeGuest guest) {
        return guest.memory.read(0, FakeGuest.RAM);
    }
}
