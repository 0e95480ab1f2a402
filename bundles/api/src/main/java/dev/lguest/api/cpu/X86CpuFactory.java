package dev.lguest.api.cpu;

import dev.lguest.api.memory.PhysicalMemory;

/**
 * The CPU bundle's service: it makes processors. Each guest gets its own, attached to
 * that guest's physical bus. A replacement implementation is bound by giving its
 * service a higher ranking; guests move to it at an instruction boundary by handing
 * over {@link CpuState}.
 */
public interface X86CpuFactory {
    /** A new CPU in the reset state of protected mode, reading memory through the bus. */
    X86Cpu create(PhysicalMemory bus);

    /** A short name for listings ("interpreter", "reference", ...). */
    String name();
}
