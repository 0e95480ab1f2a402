// The translating bundle's service: makes CPUs that compile hot guest code to JVM
// bytecode, one per guest, each reading memory through that guest's physical bus.
// How often a block runs before it is compiled is the system property
// lguest.jit.threshold (0: every block is compiled the first time it runs, which is how
// the tests run every vector and program on compiled code), and for user code (CPL 3)
// lguest.jit.userThreshold (default: the same); lguest.jit.lockstep=true
// gives every CPU a reference interpreter to agree with after every block (Lockstep),
// a test mode (lguest.jit.lockstepEvery=N checks one run() in N).
// lguest.jit.background=true compiles on a background thread while the guest
// interprets (BackgroundCompiler; never with threshold 0, where a block must be
// compiled the first time it runs); lguest.jit.maxTranslations caps the translations a
// CPU keeps, and lguest.jit.unloadAfter is how many dropped translations make it ask
// the JVM for a collection that unloads them (Translations). lguest.jit.report=true
// prints each CPU's translation figures and the JVM's metaspace when the JVM ends
// (JitReport).
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.memory.PhysicalMemory;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

// Immediate: a delayed component is deactivated whenever nobody holds its service, and
// deactivation stops the background compiler, which must happen only when the bundle stops.
@Component(service = X86CpuFactory.class, immediate = true)
public final class TranslatingCpuFactory implements X86CpuFactory {
    /**
     * Runs of a block before it is compiled, unless lguest.jit.threshold says otherwise.
     * High, because a compiled block pays for itself only after many runs: defining its
     * class, then HotSpot running that class's bytecode interpreted until C1 and C2 get
     * to it. Measured on a Linux boot (CPU seconds of the whole JVM, lguest.jit.report
     * for the counts; a loaded machine): threshold 32 on the guest's thread 15.3 s (3,959
     * translations), 2,000 in the background 8.0 s (316), 10,000 in the background 7.0 s
     * (75); the interpreter alone 6.1-7.1 s. A hot loop still reaches compiled code at
     * once (JMH's CpuBenchmark is unchanged).
     */
    static final int DEFAULT_THRESHOLD = 10_000;
    /** Whether blocks are compiled off the guest's thread unless lguest.jit.background says otherwise. */
    static final boolean DEFAULT_BACKGROUND = true;

    private final int threshold;
    private final boolean background;

    public TranslatingCpuFactory() {
        this(Integer.getInteger("lguest.jit.threshold", DEFAULT_THRESHOLD),
                Boolean.parseBoolean(System.getProperty("lguest.jit.background", String.valueOf(DEFAULT_BACKGROUND))));
    }

    /** A factory whose CPUs compile a block on the guest's thread after it ran {@code threshold} times. */
    public TranslatingCpuFactory(int threshold) {
        this(threshold, false);
    }

    private TranslatingCpuFactory(int threshold, boolean background) {
        this.threshold = Math.max(0, threshold);
        // With threshold 0 a block must be compiled the first time it runs: never in the background.
        this.background = background && this.threshold > 0;
    }

    @Activate
    void activate() {
        BackgroundCompiler.start();
    }

    /** The bundle is stopping: its background compiler must not outlive its class loader. */
    @Deactivate
    void deactivate() {
        BackgroundCompiler.stop();
    }

    @Override
    public X86Cpu create(PhysicalMemory bus) {
        TranslatingCpu cpu = new TranslatingCpu(bus, threshold, Boolean.getBoolean("lguest.jit.strict"), background,
                Integer.getInteger("lguest.jit.maxTranslations", Translations.DEFAULT_CAP));
        cpu.userThreshold = Math.max(0, Integer.getInteger("lguest.jit.userThreshold", threshold));
        if (Boolean.getBoolean("lguest.jit.report")) {
            JitReport.watch(cpu);
        }
        if (Boolean.getBoolean("lguest.jit.lockstep")) {
            cpu.lockstep = new Lockstep(bus, Integer.getInteger("lguest.jit.lockstepEvery", 1));
        }
        return cpu;
    }

    @Override
    public String name() {
        return "translator";
    }
}
