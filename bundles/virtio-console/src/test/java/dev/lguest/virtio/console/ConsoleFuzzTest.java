/*
 * Coverage-guided fuzzing of the virtio console's request handling: output chains and
 * input chains of any shape, kicks of either queue, and keystrokes typed in between
 * (^C included). What must hold: a chain is served or ends the guest with a
 * VirtqueueFault, never another exception; the console prints exactly the readable
 * bytes of the output chains served, in order; keystrokes land only in input chains'
 * writable buffers, none lost or repeated (the used lengths add up to what was typed
 * less what still waits); and nothing outside the
 * guest's memory changes.
 *
 * ./fuzz ConsoleFuzzTest#outputAndInput 10m explores; ./mvnw verify replays the inputs
 * under src/test/resources/dev/lguest/virtio/console/ConsoleFuzzTestInputs/.
 */
package dev.lguest.virtio.console;

import dev.lguest.testing.devices.TestQueue;
import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lguest.api.launcher.DescriptorChain;
import dev.lguest.api.launcher.DescriptorChain.Buffer;
import dev.lguest.api.launcher.VirtqueueFault;
import dev.lguest.testing.devices.FuzzedGuestMemory;
import dev.lguest.testing.devices.RecordingDeviceHost;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class ConsoleFuzzTest {
    private static final int MEMORY = 64 << 10;

    @FuzzTest
    void outputAndInput(FuzzedDataProvider data) throws InterruptedException {
        RecordingDeviceHost host = new RecordingDeviceHost();
        TestQueue input = new TestQueue();
        TestQueue output = new TestQueue();
        ConsoleDevice console = new ConsoleDevice(host);
        console.connect(List.of(input, output));
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        ByteArrayOutputStream typed = new ByteArrayOutputStream();
        long delivered = 0;
        List<DescriptorChain> inputChains = new ArrayList<>();
        try (FuzzedGuestMemory guest = new FuzzedGuestMemory(MEMORY)) {
            guest.fill(data);
            int steps = data.consumeInt(1, 12);
            for (int i = 0; i < steps && data.remainingBytes() > 0; i++) {
                int step = data.consumeInt(0, 4);
                if (step == 0) {
                    byte[] keys = data.consumeBytes(data.consumeInt(0, 16));
                    console.pendingInput().add(keys, 0, keys.length);
                    typed.writeBytes(keys);
                    continue;
                }
                boolean toOutput = step <= 2;
                List<DescriptorChain> chains = new ArrayList<>();
                int count = data.consumeInt(0, 3);
                for (int c = 0; c < count; c++) {
                    chains.add(guest.chain(data, c, List.of()));
                }
                (toOutput ? output : input).available.addAll(chains);
                if (!toOutput) {
                    inputChains.addAll(chains);
                }
                byte[] before = guest.snapshot();
                int usedBefore = input.usedLengths.size();
                boolean died = false;
                try {
                    console.notified(toOutput ? ConsoleDevice.OUTPUT_QUEUE : ConsoleDevice.INPUT_QUEUE);
                } catch (VirtqueueFault guestDies) {
                    died = true;
                }
                guest.assertOnlyWritableChanged(before, toOutput ? chains : inputChains);
                if (toOutput) {
                    // Printed: every chain up to the first with a writable buffer, which ends the guest.
                    for (DescriptorChain chain : chains) {
                        if (!chain.writable().isEmpty()) {
                            break;
                        }
                        for (Buffer b : chain.readable()) {
                            printed.writeBytes(java.util.Arrays.copyOfRange(before, (int) b.address(),
                                    (int) (b.address() + b.length())));
                        }
                    }
                } else {
                    // Each chain taken holds as many keystrokes as it has room for, or the rest.
                    for (int t = usedBefore; t < input.usedLengths.size(); t++) {
                        delivered += input.usedLengths.get(t);
                    }
                }
                if (died) {
                    break;
                }
            }
        }
        assertArrayEquals(printed.toByteArray(), host.output.toByteArray(), "what the console printed");
        assertEquals(typed.size() - console.pendingInput().available(), delivered,
                "keystrokes delivered: none lost, none repeated");
    }
}
