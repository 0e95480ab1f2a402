// The translating bundle's service: makes CPUs that compile hot guest code to JVM
// bytecode, one per guest, each reading memory through that guest's physical bus.
// How often a block runs before it is compiled is the system property
// lguest.jit.threshold (0: every block is compiled the first time it runs, which is how
// the tests run every vector and program on compiled code); lguest.jit.lockstep=true
// gives every CPU a reference interpreter to agree with after every block (Lockstep),
// a test mode for machines whose page tables and code are all in guest RAM.
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.memory.PhysicalMemory;
import org.osgi.service.component.annotations.Component;

@Component(service = X86CpuFactory.class)
public final class TranslatingCpuFactory implements X86CpuFactory {
    /** Runs of a block before it is compiled, unless lguest.jit.threshold says otherwise. */
    static final int DEFAULT_THRESHOLD = 32;

    private final int threshold;

    public TranslatingCpuFactory() {
        this(Integer.getInteger("lguest.jit.threshold", DEFAULT_THRESHOLD));
    }

    /** A factory whose CPUs compile a block after it ran {@code threshold} times. */
    public TranslatingCpuFactory(int threshold) {
        this.threshold = Math.max(0, threshold);
    }

    @Override
    public X86Cpu create(PhysicalMemory bus) {
        TranslatingCpu cpu = new TranslatingCpu(bus, threshold, Boolean.getBoolean("lguest.jit.strict"));
        if (Boolean.getBoolean("lguest.jit.lockstep")) {
            cpu.lockstep = new Lockstep(bus);
        }
        return cpu;
    }

    @Override
    public String name() {
        return "translator";
    }
}
