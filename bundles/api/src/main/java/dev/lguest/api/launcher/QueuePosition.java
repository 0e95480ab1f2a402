package dev.lguest.api.launcher;

/**
 * The Launcher's position in one virtqueue: the next available entry it will take,
 * and the used index it last published. Both are kept by the host, never read back
 * from the guest, so a hand-over carries them.
 */
public record QueuePosition(int lastAvailable, int usedIndex) {
    public QueuePosition {
        if (lastAvailable < 0 || lastAvailable > 0xffff || usedIndex < 0 || usedIndex > 0xffff) {
            throw new IllegalArgumentException("queue position " + lastAvailable + "/" + usedIndex);
        }
    }
}
