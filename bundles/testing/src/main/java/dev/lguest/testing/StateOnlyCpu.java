package dev.lguest.testing;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.X86Cpu;

import java.util.ArrayList;
import java.util.List;

/**
 * A CPU that only holds state, for the host components' unit tests: they read and
 * write registers between runs and maintain the TLB, but never run guest code. It
 * remembers how often its state was loaded and which TLB maintenance it was asked for.
 */
public class StateOnlyCpu implements X86Cpu {
    public CpuState state = new CpuState();
    public int loads;
    public final List<Integer> cr3Loads = new ArrayList<>();
    public final List<Integer> invalidatedPages = new ArrayList<>();

    @Override
    public CpuState saveState() {
        return state.copy();
    }

    @Override
    public void loadState(CpuState newState) {
        state = newState.copy();
        loads++;
    }

    @Override
    public CpuExit run(long instructionBudget) {
        throw new UnsupportedOperationException("a state-only CPU runs no guest code");
    }

    @Override
    public void interrupt() {
    }

    @Override
    public int gpr(int register) {
        return state.gpr[register];
    }

    @Override
    public void setGpr(int register, int value) {
        state.gpr[register] = value;
    }

    @Override
    public int eip() {
        return state.eip;
    }

    @Override
    public void setEip(int eip) {
        state.eip = eip;
    }

    @Override
    public void setCr3(int cr3) {
        state.cr3 = cr3;
        cr3Loads.add(cr3);
    }

    @Override
    public void invalidatePage(int linearAddress) {
        invalidatedPages.add(linearAddress);
    }
}
