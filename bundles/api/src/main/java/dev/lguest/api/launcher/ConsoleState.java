package dev.lguest.api.launcher;

/**
 * A virtio console's state at a hand-over: the keystrokes read from the keyboard but
 * not yet in the guest, and where the triple-^C count stands (so three ^C still end
 * the guest when a swap falls between them).
 *
 * @param pendingInput       bytes read but not delivered, oldest first
 * @param controlCCount      lone ^C seen in a row so far (0 to 2)
 * @param controlCFirstNanos System.nanoTime() of the first of them
 */
public record ConsoleState(byte[] pendingInput, int controlCCount, long controlCFirstNanos) implements DeviceState {
    public ConsoleState {
        pendingInput = pendingInput.clone();
    }

    @Override
    public byte[] pendingInput() {
        return pendingInput.clone();
    }
}
