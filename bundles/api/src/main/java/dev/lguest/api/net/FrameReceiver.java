package dev.lguest.api.net;

/**
 * Where a link delivers frames for its guest. Called on the backend's thread (another
 * guest's, or a reader's); it must not block, and it owns the array from then on.
 */
@FunctionalInterface
public interface FrameReceiver {
    void frame(byte[] frame);
}
