// The bundle's service: makes interpreting CPUs, one per guest, each reading memory
// through that guest's physical bus.
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.memory.PhysicalMemory;
import org.osgi.service.component.annotations.Component;

@Component(service = X86CpuFactory.class)
public final class InterpreterCpuFactory implements X86CpuFactory {
    @Override
    public X86Cpu create(PhysicalMemory bus) {
        return new InterpreterCpu(bus);
    }

    @Override
    public String name() {
        return "interpreter";
    }
}
