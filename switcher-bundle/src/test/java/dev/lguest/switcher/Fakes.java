package dev.lguest.switcher;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.hypercalls.HypercallHandler;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.traps.TrapDelivery;
import dev.lguest.testing.StateOnlyCpu;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.Consumer;

/** Scripted stand-ins for the switcher's collaborators. */
final class Fakes {
    private Fakes() {
    }

    /**
     * A CPU that "runs" by applying the next scripted step to its state and returning
     * its exit; everything but running is lguest-testing's state-only CPU.
     */
    static final class ScriptedCpu extends StateOnlyCpu {
        record Step(Consumer<CpuState> effect, CpuExit exit) {
        }

        final Deque<Step> script;
        /** Each run's promise that the host named every frame it wrote, in order. */
        final List<Boolean> onlyNamedWrites = new ArrayList<>();
        /** The frames the host named (frameWritten), in order. */
        final List<Integer> framesWritten = new ArrayList<>();
        /** For each run, the frames named since the run before it. */
        final List<List<Integer>> framesNamedBeforeRun = new ArrayList<>();
        private int namedSoFar;
        /** How many times interrupt() was called. */
        int interrupts;

        ScriptedCpu(Deque<Step> script) {
            this.script = script;
        }

        @Override
        public CpuExit run(long budget, boolean onlyNamed) {
            onlyNamedWrites.add(onlyNamed);
            framesNamedBeforeRun.add(List.copyOf(framesWritten.subList(namedSoFar, framesWritten.size())));
            namedSoFar = framesWritten.size();
            return run(budget);
        }

        @Override
        public void frameWritten(int frame) {
            framesWritten.add(frame);
        }

        @Override
        public void interrupt() {
            interrupts++;
        }

        @Override
        public CpuExit run(long budget) {
            Step step = script.poll();
            if (step == null) {
                return new CpuExit(ExitReason.SHUTDOWN, 0, 0, 0);
            }
            step.effect.accept(state);
            return step.exit;
        }
    }

    /**
     * Makes ScriptedCpus that share one script, so a migrated guest carries on with it.
     * A CPU for the switcher's scratch machine (CpuFirstRun's, told by its size) does
     * not touch the script: it "runs" the first-run program to its end at once.
     */
    static final class ScriptedFactory implements X86CpuFactory {
        final Deque<ScriptedCpu.Step> script;
        final List<ScriptedCpu> made = new ArrayList<>();
        int firstRuns;

        ScriptedFactory(Deque<ScriptedCpu.Step> script) {
            this.script = script;
        }

        @Override
        public X86Cpu create(PhysicalMemory bus) {
            if (bus.ramPages() == CpuFirstRun.RAM_BYTES / PhysicalMemory.PAGE_SIZE) {
                firstRuns++;
                return new StateOnlyCpu() {
                    @Override
                    public CpuExit run(long budget) {
                        return new CpuExit(ExitReason.VECTOR, CpuFirstRun.ROUND_VECTOR, 0, 1);
                    }
                };
            }
            ScriptedCpu cpu = new ScriptedCpu(script);
            made.add(cpu);
            return cpu;
        }

        @Override
        public String name() {
            return "scripted";
        }
    }

    static Deque<ScriptedCpu.Step> script() {
        return new ArrayDeque<>();
    }

    /** Identity paging; faults at addresses in {@code fixable} are fixed by demand paging. */
    static final class FlatMmu implements ShadowPageTables {
        final List<Integer> fixable = new ArrayList<>();
        /**
         * Shadow roots to switch to, one per fixed fault: a positive one loaded into the
         * CPU's CR3 right away (as the real MMU does on NEW_PGTABLE), a negative one
         * (its root negated) left for the switcher to load (as a replaced MMU leaves it).
         */
        final Deque<Integer> rootSwitches = new ArrayDeque<>();
        int root = 0x5000;

        @Override public void init(Guest g, int pgdir) { g.paging.guestPgdir = pgdir; }
        @Override public void newPageTable(Guest g, int pgdir) { }
        @Override
        public boolean demandPage(Guest g, int va, int err) {
            boolean fixed = fixable.remove(Integer.valueOf(va));
            Integer next = fixed ? rootSwitches.poll() : null;
            if (next != null) {
                root = Math.abs(next);
                if (next > 0) {
                    g.cpu().setCr3(root);
                }
            }
            return fixed;
        }
        @Override public void setPte(Guest g, int pgdir, int va, int pte) { }
        @Override public void setPmd(Guest g, int pgdir, int index) { }
        @Override public void flush(Guest g, boolean kernelToo) { }
        @Override public int shadowRoot(Guest g) { return root; }
        @Override public boolean pinStackPages(Guest g, int top, int pages) { return true; }
        @Override public void release(Guest g) { }
        @Override public long guestPhysical(Guest g, int va) { return Integer.toUnsignedLong(va) < g.memory.size() ? va : -1; }
    }

    static final class FlatSegments implements SegmentManager {
        @Override public void setupGuestGdt(Guest g) { }
        @Override public void loadGdt(Guest g, int address, int entries) { }
        @Override public void loadTls(Guest g, int address) { }
        @Override public SegmentCache cacheFor(Guest g, int selector) {
            return new SegmentCache(selector, 0, -1, 0xc0f3);
        }
    }

    /** Records delivered traps; has a handler for every vector in {@code handled}. */
    static class RecordingTraps implements TrapDelivery {
        final List<Integer> delivered = new ArrayList<>();
        final List<Integer> handled = new ArrayList<>();
        final List<Integer> errorCodes = new ArrayList<>();

        @Override
        public boolean deliverTrap(Guest g, int vector, boolean hasErrorCode, int errorCode) {
            if (!handled.contains(vector)) {
                return false;
            }
            delivered.add(vector);
            errorCodes.add(errorCode);
            return true;
        }

        @Override public void maybeDeliverInterrupt(Guest g) { }
        @Override public void loadIdtEntry(Guest g, int vector, int low, int high) { }
        @Override public void setStack(Guest g, int segment, int esp, int pages) { }
        @Override public void setClockEvent(Guest g, long nanos) { }
        @Override public boolean isDirectTrap(Guest g, int vector) { return vector == 0x80; }
        @Override public boolean checkSyscallVector(Guest g) { return true; }
    }

    /** Hypercalls: NOTIFY (17) with eax/edx, CRASH (2) kills with "Power down". */
    static final class MiniHypercalls implements HypercallHandler {
        @Override
        public void doHypercalls(Guest g) {
            g.hypercallPending = false;
            doHypercall(g, g.cpu().gpr(0), g.cpu().gpr(2), g.cpu().gpr(3), g.cpu().gpr(1));
        }

        @Override
        public void doHypercall(Guest g, int number, int arg1, int arg2, int arg3) {
            switch (number) {
                case 17 -> g.pendingNotify = arg1;
                case 2 -> g.kill("Power down");
                default -> g.kill("Bad hypercall " + number);
            }
        }
    }
}
