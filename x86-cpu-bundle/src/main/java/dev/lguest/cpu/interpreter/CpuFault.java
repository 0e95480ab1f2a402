// An x86 exception raised while executing an instruction (#GP, #PF, #UD, ...).
// It unwinds the interpreter back to the instruction boundary, where the run loop
// delivers it. It carries no stack trace: faults are ordinary guest events, not bugs,
// and the JVM should treat the throw as a cheap jump.
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.X86;

final class CpuFault extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final int vector;
    final int errorCode;
    /** The linear address of a page fault (what goes into CR2); unused otherwise. */
    final int address;

    CpuFault(int vector, int errorCode, int address) {
        super(null, null, false, false);
        this.vector = vector;
        this.errorCode = errorCode;
        this.address = address;
    }

    static CpuFault of(int vector, int errorCode) {
        return new CpuFault(vector, errorCode, 0);
    }

    static CpuFault generalProtection(int errorCode) {
        return new CpuFault(X86.GP, errorCode, 0);
    }

    static CpuFault invalidOpcode() {
        return new CpuFault(X86.UD, 0, 0);
    }

    static CpuFault stackFault(int errorCode) {
        return new CpuFault(X86.SS_VECTOR, errorCode, 0);
    }

    static CpuFault notPresent(int errorCode) {
        return new CpuFault(X86.NP, errorCode, 0);
    }

    static CpuFault pageFault(int linear, int errorCode) {
        return new CpuFault(X86.PF_VECTOR, errorCode, linear);
    }
}
