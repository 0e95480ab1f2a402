package dev.lguest.api.launcher;

/**
 * The guest broke a virtqueue (a descriptor loop, an index out of range, a buffer
 * outside its memory, a buffer the wrong way round). lguest.c's answer is errx(): the
 * guest dies with the message. Thrown by the ring and by devices, caught by the Launcher.
 */
public final class VirtqueueFault extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public VirtqueueFault(String message) {
        super(message);
    }
}
