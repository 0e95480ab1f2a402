// Which CPU the tests of this package run on. By default the interpreter; a CPU built
// on this package elsewhere (the translator of x86-jit-bundle) runs the very same
// tests by naming its factory in the system property lguest.test.cpuFactory, so every
// vector and program here checks it too. Its CPUs must be InterpreterCpus, since the
// tests read the registers and caches directly.
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.memory.PhysicalMemory;

final class CpuUnderTest {
    static final String FACTORY_PROPERTY = "lguest.test.cpuFactory";

    private CpuUnderTest() {
    }

    static X86CpuFactory factory() {
        String name = System.getProperty(FACTORY_PROPERTY);
        if (name == null || name.isBlank()) {
            return new InterpreterCpuFactory();
        }
        try {
            return (X86CpuFactory) Class.forName(name).getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(FACTORY_PROPERTY + " names no usable factory: " + name, e);
        }
    }

    static InterpreterCpu create(PhysicalMemory bus) {
        return (InterpreterCpu) factory().create(bus);
    }
}
