package dev.lguest.virtio.console;

import dev.lguest.testing.devices.TestQueue;
import dev.lguest.testing.devices.RecordingDeviceHost;
import dev.lguest.api.launcher.DescriptorChain;
import dev.lguest.api.launcher.DescriptorChain.Buffer;
import dev.lguest.api.launcher.VirtqueueFault;
import dev.lguest.api.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The virtio console: output chains to the console stream, keystrokes into input chains. */
class ConsoleDeviceTest {
    private final GuestMemory memory = new GuestMemory(Arena.ofAuto().allocate(1 << 20));
    private final RecordingDeviceHost host = new RecordingDeviceHost();
    private final TestQueue input = new TestQueue();
    private final TestQueue output = new TestQueue();
    private final ConsoleDevice console = new ConsoleDevice(host);

    ConsoleDeviceTest() {
        console.connect(List.of(input, output));
    }

    private Buffer text(long address, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.ISO_8859_1);
        memory.write(address, bytes);
        return new Buffer(address, bytes.length);
    }

    @Test
    void outputGoesToTheConsoleInOrder() {
        output.available.add(new DescriptorChain(memory, 0, List.of(text(0x1000, "Hello "), text(0x2000, "virtio")),
                List.of()));
        output.available.add(new DescriptorChain(memory, 1, List.of(text(0x3000, " console\n")), List.of()));
        console.notified(ConsoleDevice.OUTPUT_QUEUE);
        assertEquals("Hello virtio console\n", host.output.toString(StandardCharsets.ISO_8859_1));
        assertEquals(List.of(0, 0), output.usedLengths);
        assertEquals(1, output.interrupts);
    }

    @Test
    void aWritableOutputBufferKillsTheGuest() {
        output.available.add(new DescriptorChain(memory, 0, List.of(), List.of(new Buffer(0x1000, 4))));
        assertEquals("console: a writable buffer on the output queue",
                assertThrows(VirtqueueFault.class, () -> console.notified(ConsoleDevice.OUTPUT_QUEUE)).getMessage());
    }

    @Test
    void keystrokesWaitForBuffersThenFillThem() throws Exception {
        console.pendingInput().add("ls\n".getBytes(), 0, 3);
        console.serviceInput();
        assertEquals(3, console.pendingInput().available());
        assertEquals(0, input.interrupts);

        // The guest adds a 2-byte buffer and a 16-byte one, and kicks the input queue.
        input.available.add(new DescriptorChain(memory, 0, List.of(), List.of(new Buffer(0x4000, 2))));
        input.available.add(new DescriptorChain(memory, 1, List.of(), List.of(new Buffer(0x5000, 16))));
        console.notified(ConsoleDevice.INPUT_QUEUE);
        assertEquals("ls", new String(memory.read(0x4000, 2), StandardCharsets.ISO_8859_1));
        assertEquals('\n', memory.read8(0x5000));
        assertEquals(List.of(2, 1), input.usedLengths);
        assertEquals(1, input.interrupts);
        assertEquals(0, console.pendingInput().available());
    }

    @Test
    void noKeystrokesTakeNoBuffers() {
        DescriptorChain chain = new DescriptorChain(memory, 0, List.of(), List.of(new Buffer(0x4000, 2)));
        input.available.add(chain);
        console.serviceInput();
        assertEquals(1, input.available.size());
        assertEquals(List.of(), input.usedLengths);
    }

    @Test
    void aReadableInputBufferKillsTheGuest() throws Exception {
        console.pendingInput().add(new byte[] {'x'}, 0, 1);
        input.available.add(new DescriptorChain(memory, 0, List.of(new Buffer(0x4000, 2)), List.of()));
        assertEquals("console: a readable buffer on the input queue",
                assertThrows(VirtqueueFault.class, console::serviceInput).getMessage());
    }

    @Test
    void threeControlCsEndTheGuest() throws Exception {
        for (int i = 0; i < 3; i++) {
            console.pendingInput().add(new byte[] {ControlCAbort.CONTROL_C}, 0, 1);
            input.available.add(new DescriptorChain(memory, i, List.of(), List.of(new Buffer(0x4000, 16))));
            if (i < 2) {
                console.serviceInput();
                assertNull(host.stoppedFor);
            }
        }
        console.serviceInput();
        assertEquals("three ^C on the console: the user ended the guest", host.stoppedFor);
    }

    @Test
    void aLoneControlCIsTheGuestsToInterpret() throws Exception {
        console.pendingInput().add(new byte[] {ControlCAbort.CONTROL_C}, 0, 1);
        input.available.add(new DescriptorChain(memory, 0, List.of(), List.of(new Buffer(0x4000, 16))));
        console.serviceInput();
        assertEquals(ControlCAbort.CONTROL_C, memory.read8(0x4000));
        assertEquals(List.of(1), input.usedLengths);
        assertNull(host.stoppedFor);
    }

    @Test
    void afterTheThirdControlCNothingMoreGoesIn() throws Exception {
        for (int i = 0; i < 3; i++) {
            console.pendingInput().add(new byte[] {ControlCAbort.CONTROL_C}, 0, 1);
            input.available.add(new DescriptorChain(memory, 2 * i, List.of(), List.of(new Buffer(0x4000, 16))));
            input.available.add(new DescriptorChain(memory, 2 * i + 1, List.of(), List.of(new Buffer(0x5000, 16))));
            console.serviceInput();
        }
        console.pendingInput().add("echo more\n".getBytes(StandardCharsets.ISO_8859_1), 0, 10);
        console.serviceInput();
        assertEquals(ConsoleDevice.USER_STOP, host.stoppedFor);
        assertEquals(List.of(1, 1, 1), input.usedLengths);
    }
}
