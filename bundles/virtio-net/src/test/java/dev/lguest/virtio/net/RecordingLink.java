package dev.lguest.virtio.net;

import dev.lguest.api.net.FrameReceiver;
import dev.lguest.api.net.NetworkLink;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A link for device tests: what the guest sent is kept; frames for the guest are pushed by hand. */
final class RecordingLink implements NetworkLink {
    final List<byte[]> sent = new ArrayList<>();
    FrameReceiver receiver;
    boolean closed;

    RecordingLink(FrameReceiver first) {
        receiver = first;
    }

    void push(byte[] frame) {
        receiver.frame(frame);
    }

    @Override
    public void send(byte[] frame, int length) {
        sent.add(Arrays.copyOf(frame, length));
    }

    @Override
    public void receiveWith(FrameReceiver receiver) {
        this.receiver = receiver;
    }

    @Override
    public String describe() {
        return "test link";
    }

    @Override
    public long dropped() {
        return 0;
    }

    @Override
    public void close() {
        closed = true;
    }
}
