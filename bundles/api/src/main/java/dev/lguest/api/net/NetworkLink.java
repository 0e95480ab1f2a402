package dev.lguest.api.net;

/**
 * One guest's attachment to a network. Sending never blocks for long: a backend that
 * cannot take a frame now (a full queue, a peer gone) drops it and counts it, as a
 * busy Ethernet would. A link outlives the device that opened it when that device is
 * handed over to another implementation: the successor points the link at its own
 * receiver ({@link #receiveWith}) and carries on.
 */
public interface NetworkLink extends AutoCloseable {
    /** Sends one Ethernet frame (destination MAC first, no FCS); the array is not kept past the call. */
    void send(byte[] frame, int length);

    /** From now on, frames for the guest go to {@code receiver}. */
    void receiveWith(FrameReceiver receiver);

    /** What --verbose says about the link ("switch lan0", "tun net tap0 10.0.0.1"). */
    String describe();

    /** Frames this link could not pass on (a peer's full queue, a write that failed). */
    long dropped();

    /** Leaves the network; frames stop flowing both ways. */
    @Override
    void close();
}
