package dev.lguest.debugger;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.debug.StoppedGuest;
import dev.lguest.api.memory.GuestMemory;

import java.lang.foreign.Arena;

/**
 * A stopped guest for the stub's tests: 64 KB of RAM, mapped at virtual
 * {@link #KERNEL} + physical (as a kernel maps its memory at PAGE_OFFSET), nothing else.
 */
final class FakeGuest implements StoppedGuest, AutoCloseable {
    static final int KERNEL = 0xc0000000;
    static final int RAM = 0x10000;

    final Arena arena = Arena.ofConfined();
    final GuestMemory memory = new GuestMemory(arena.allocate(RAM, 4096));
    CpuState state = new CpuState();
    int stateWrites;

    @Override
    public CpuState state() {
        return state.copy();
    }

    @Override
    public void setState(CpuState s) {
        state = s.copy();
        stateWrites++;
    }

    @Override
    public long guestPhysical(int virtualAddress) {
        long offset = Integer.toUnsignedLong(virtualAddress) - Integer.toUnsignedLong(KERNEL);
        return offset >= 0 && offset < RAM ? offset : -1;
    }

    @Override
    public void close() {
        arena.close();
    }
}
