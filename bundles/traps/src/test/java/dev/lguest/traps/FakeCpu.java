/*
 * A CPU that only holds state: enough for the host code under test, which reads and
 * writes registers between runs but never runs anything itself.
 */
package dev.lguest.traps;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.X86Cpu;

final class FakeCpu implements X86Cpu {
    CpuState state = new CpuState();
    int loads;

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
        throw new UnsupportedOperationException("the fake CPU does not run code");
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
    }

    @Override
    public void invalidatePage(int linearAddress) {
    }
}
