package dev.lguest.virtio.console;

import dev.lguest.api.launcher.ConfigField;
import dev.lguest.api.launcher.ConsoleState;
import dev.lguest.api.launcher.DescriptorChain;
import dev.lguest.api.launcher.DeviceHost;
import dev.lguest.api.launcher.DeviceState;
import dev.lguest.api.launcher.GuestDevice;
import dev.lguest.api.launcher.Virtqueue;
import dev.lguest.api.launcher.VirtqueueFault;

import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * One guest's virtio console: two queues, input then output, and no other config
 * (2.6.24's console has no fields of its own).
 *
 * Output: every chain on the output queue is bytes the guest wants printed; they go
 * to the Launcher's console stream as they are. A writable buffer there makes no
 * sense (lguest.c: "Input buffers in output queue?") and kills the guest.
 *
 * Input: a {@link KeyboardPump} thread reads the keyboard and wakes the guest; the
 * bytes wait here until the guest has put buffers on the input queue, and go into
 * them when the Launcher services input or when the guest kicks the input queue
 * (lguest.c's enable_fd: new buffers mean we may deliver again).
 *
 * Hand-over (the bundle swapped while the guest runs): the keyboard thread stops
 * between two reads, and the keystrokes still waiting, with the ^C count, go to the
 * successor as a {@link ConsoleState}. Output needs nothing: every chain is printed
 * and used before a notification returns.
 */
final class ConsoleDevice implements GuestDevice {
    static final int INPUT_QUEUE = 0;
    static final int OUTPUT_QUEUE = 1;
    /** Why the guest ends on the user's triple ^C. */
    static final String USER_STOP = "three ^C on the console: the user ended the guest";
    /** Output is copied out of guest memory in pieces of this size. */
    private static final int COPY_CHUNK = 4096;

    private final DeviceHost host;
    /** How long a hand-over waits for the keyboard thread to end. */
    private static final long PUMP_STOP_MILLIS = 2_000;

    private final PendingInput pending = new PendingInput();
    private final ControlCAbort abort;
    private Virtqueue input;
    private Virtqueue output;
    private KeyboardPump pump;
    /** The user's triple ^C: the guest is ending, and takes no more input. */
    private boolean userStopped;

    ConsoleDevice(DeviceHost host) {
        this.host = host;
        this.abort = new ControlCAbort();
    }

    /** The successor of another console: it starts with that one's waiting keystrokes and ^C count. */
    ConsoleDevice(DeviceHost host, ConsoleState state) {
        this.host = host;
        this.abort = new ControlCAbort(state.controlCCount(), state.controlCFirstNanos());
        pending.restore(state.pendingInput());
    }

    @Override
    public int queueCount() {
        return 2;
    }

    @Override
    public List<ConfigField> configFields() {
        return List.of();
    }

    @Override
    public String describe() {
        return "console";
    }

    @Override
    public void connect(List<Virtqueue> queues) {
        input = queues.get(INPUT_QUEUE);
        output = queues.get(OUTPUT_QUEUE);
        startPump();
    }

    private void startPump() {
        if (host.input() != null) {
            pump = new KeyboardPump(host.input(), pending, host::wakeGuest);
            pump.start();
        }
    }

    @Override
    public DeviceState suspend() {
        if (pump != null) {
            boolean ended;
            try {
                ended = pump.stopAndJoin(PUMP_STOP_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                ended = false;
            }
            pump = null;
            if (!ended) {
                // It may still put a key in after we looked: the state would miss it.
                startPump();
                throw new UnsupportedOperationException(
                        "console: the keyboard thread did not stop (its input ignores interrupts)");
            }
        }
        return new ConsoleState(pending.peekAll(), abort.count(), abort.first());
    }

    @Override
    public void resume() {
        if (pump == null) {
            startPump();
        }
    }

    @Override
    public void retire() {
        // The keystrokes went to the successor; the keyboard thread has ended.
        pending.close();
    }

    /** For tests: keystrokes as if typed. */
    PendingInput pendingInput() {
        return pending;
    }

    @Override
    public void notified(int index) {
        if (index == OUTPUT_QUEUE) {
            printOutput();
        } else {
            deliverInput();
        }
    }

    @Override
    public void serviceInput() {
        deliverInput();
    }

    private void printOutput() {
        PrintStream console = host.console();
        byte[] chunk = new byte[COPY_CHUNK];
        boolean any = false;
        for (DescriptorChain chain = output.next(); chain != null; chain = output.next()) {
            if (!chain.writable().isEmpty()) {
                throw new VirtqueueFault("console: a writable buffer on the output queue");
            }
            for (DescriptorChain.Buffer b : chain.readable()) {
                MemorySegment bytes = chain.segment(b);
                for (long done = 0; done < b.length(); ) {
                    int n = (int) Math.min(chunk.length, b.length() - done);
                    MemorySegment.copy(bytes, ValueLayout.JAVA_BYTE, done, chunk, 0, n);
                    console.write(chunk, 0, n);
                    done += n;
                }
            }
            // The device wrote nothing into the buffer: the used length is 0.
            output.used(chain, 0);
            any = true;
        }
        console.flush();
        if (any) {
            output.interrupt();
        }
    }

    private void deliverInput() {
        boolean any = false;
        while (!userStopped && pending.available() > 0) {
            DescriptorChain chain = input.next();
            if (chain == null) {
                // No buffers yet: the bytes wait until the guest adds some and kicks.
                break;
            }
            if (!chain.readable().isEmpty()) {
                throw new VirtqueueFault("console: a readable buffer on the input queue");
            }
            byte[] bytes = pending.take((int) Math.min(Integer.MAX_VALUE, chain.writableLength()));
            int written = chain.write(bytes, 0, bytes.length);
            input.used(chain, written);
            any = true;
            if (abort.seen(bytes)) {
                // lguest.c exits there and then: nothing more goes in.
                userStopped = true;
                host.stopGuest(USER_STOP);
            }
        }
        if (any) {
            input.interrupt();
        }
    }

    @Override
    public void close() {
        if (pump != null) {
            pump.stop();
        }
        pending.close();
    }
}
