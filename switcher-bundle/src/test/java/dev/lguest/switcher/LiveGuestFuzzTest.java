/*
 * Coverage-guided fuzzing of a live guest: the real switcher, CPU, shadow page tables,
 * segments, trap delivery and hypercall handler, as the default build wires them, run a
 * guest whose code the fuzzer writes. The code is a straight line of steps: hypercalls
 * with any number and arguments (int $0x1f), stores of any word into lguest_data's
 * fields and its asynchronous hypercall ring, and instructions that trap (int3, ud2, cli,
 * hlt, int $0x80, loads from anywhere). One target starts without LGUEST_INIT (so every
 * call may come first); the other starts as a Linux guest does, lguest_data filled in,
 * and then breaks its fields.
 *
 * What must hold: the guest either reaches its last NOTIFY or dies with lguest's reason,
 * never "host failure" (the switcher's word for an exception escaping a component);
 * the frames past its pfn limit (the Launcher's, in the same RAM) keep their pattern;
 * and a second guest on the same components, started before and resumed after, runs
 * its own program to the end with its memory as it left it.
 *
 * A guest may loop forever: each gets a fixed number of instructions, then its CPU
 * reports a triple fault and the switcher ends it. HALT is left out (turned into FLUSH_ASYNC): with no
 * timer set it sleeps until an interrupt that no one here sends, as lguest's does.
 *
 * ./fuzz LiveGuestFuzzTest#hypercalls 10m (or #lguestData) explores; ./mvnw verify
 * replays the inputs under src/test/resources/dev/lguest/switcher/LiveGuestFuzzTestInputs/.
 */
package dev.lguest.switcher;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.device.Errno;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.guest.LguestData;
import dev.lguest.api.hypercalls.Hypercall;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.cpu.interpreter.InterpreterCpuFactory;
import dev.lguest.hypercalls.GuestHypercalls;
import dev.lguest.pagetable.LguestShadowPageTables;
import dev.lguest.segments.GuestSegments;
import dev.lguest.traps.GuestTraps;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LiveGuestFuzzTest {
    private static final int RAM_PAGES = 256, PFN_LIMIT = 240;
    private static final int PGDIR = 0x1000, PTES = 0x2000, LGUEST_DATA = 0x3000, STACK = 0x1F000, CODE = 0x20000;
    /** The last NOTIFY's address; run() answers a notify address as an unsigned word. */
    private static final long DONE = 0xFEED0000L;
    private static final long INSTRUCTIONS = 100_000;
    private static final byte LAUNCHER_PATTERN = (byte) 0x9D;
    /** lguest_data words worth aiming at; the ring's entries and status bytes are added below. */
    private static final int[] FIELDS = {LguestData.IRQ_ENABLED, LguestData.BLOCKED_INTERRUPTS, LguestData.CR2,
            LguestData.TIME_SEC, LguestData.TIME_NSEC, LguestData.RESERVE_MEM, LguestData.TSC_KHZ, LguestData.PGDIR,
            LguestData.NOIRQ_START, LguestData.NOIRQ_END, LguestData.KERNEL_ADDRESS, LguestData.SYSCALL_VEC};

    @FuzzTest
    void hypercalls(FuzzedDataProvider data) throws Exception {
        run(data, false);
    }

    @FuzzTest
    void lguestData(FuzzedDataProvider data) throws Exception {
        run(data, true);
    }

    private static void run(FuzzedDataProvider data, boolean initialized) throws Exception {
        long[] instructionsLeft = {INSTRUCTIONS};
        SwitcherComponent switcher = wiredSwitcher(instructionsLeft);
        try (Arena arena = Arena.ofConfined()) {
            Guest other = newGuest(arena);
            Guest guest = newGuest(arena);
            GuestMemory memory = guest.memory;

            // The other guest: LGUEST_INIT, a store, a NOTIFY, then (after the fuzzed guest)
            // another store and NOTIFY.
            linuxLguestData(other.memory);
            Program second = new Program();
            second.set(0xBC, STACK).hypercall(Hypercall.LGUEST_INIT.number, LGUEST_DATA, 0, 0).store(0x5000, 0x1234).notify(0xAAAA).store(0x5004, 0x5678).notify(0xBBBB);
            other.memory.write(CODE, second.bytes());
            switcher.initialize(other, PGDIR, CODE);
            assertEquals(0xAAAA, switcher.run(other), () -> "the other guest: " + other.deadReason());
            byte[] otherMemory = other.memory.read(0, RAM_PAGES * 4096);

            Program program = new Program();
            program.set(0xBC, STACK);
            if (initialized) {
                linuxLguestData(memory);
                program.hypercall(Hypercall.LGUEST_INIT.number, LGUEST_DATA, 0, 0);
            }
            int steps = data.consumeInt(1, 24);
            int taken = 0;
            for (; taken < steps && data.remainingBytes() > 0; taken++) {
                step(program, data, initialized);
            }
            program.notify((int) DONE);
            memory.write(CODE, program.bytes());
            switcher.initialize(guest, PGDIR, CODE);

            long result = 0;
            for (int runs = 0; runs < 64 && !guest.isDead() && result != DONE; runs++) {
                // As /dev/lguest's read: the last NOTIFY was seen.
                guest.pendingNotify = 0;
                result = switcher.run(guest);
                assertTrue(result >= 0 || result == -Errno.ENOENT, "run gave " + result);
            }
            if (taken == 0 && initialized) {
                // Nothing fuzzed: the harness itself must get a guest to its end.
                assertEquals(DONE, result, () -> "an empty program: " + guest.deadReason());
            } else if (taken == 0) {
                assertEquals("hypercall 17 before LGUEST_INIT", guest.deadReason());
            }
            if (guest.isDead()) {
                String reason = guest.deadReason();
                assertTrue(reason != null && !reason.isEmpty(), "a death without a reason");
                assertFalse(reason.startsWith("host failure"), "the guest ended by a host failure: " + reason);
            }
            for (long at = (long) PFN_LIMIT * 4096; at < (long) RAM_PAGES * 4096; at++) {
                if ((byte) memory.read8(at) != LAUNCHER_PATTERN) {
                    throw new AssertionError("the Launcher's memory at " + Long.toHexString(at) + " changed");
                }
            }

            instructionsLeft[0] = INSTRUCTIONS;
            byte[] otherNow = other.memory.read(0, RAM_PAGES * 4096);
            assertTrue(Arrays.equals(otherMemory, otherNow), "the other guest's memory changed while it waited");
            other.pendingNotify = 0;
            assertEquals(0xBBBB, switcher.run(other), () -> "the other guest: " + other.deadReason());
            assertEquals(0x5678, other.memory.read32(0x5004));
            switcher.release(guest);
            switcher.release(other);
            guest.bus.close();
            other.bus.close();
        } finally {
            switcher.deactivate();
        }
    }

    /** One step of the fuzzed guest's code. */
    private static void step(Program program, FuzzedDataProvider data, boolean initialized) {
        switch (data.consumeInt(0, initialized ? 5 : 3)) {
            case 0, 1 -> {
                int number = data.consumeBoolean() ? data.consumeInt(0, 18) : data.consumeInt();
                program.hypercall(number, argument(data), argument(data), argument(data));
            }
            case 2 -> program.trap(data.consumeInt(0, 7), argument(data));
            case 3 -> {
                int offset = data.consumeBoolean() ? FIELDS[data.consumeInt(0, FIELDS.length - 1)]
                        : data.consumeInt(0, LguestData.SIZE - 4);
                program.store(LGUEST_DATA + offset, ringSafe(offset, argument(data)));
            }
            default -> {
                // An asynchronous call queued in the ring: number, arguments, then its status.
                int slot = data.consumeInt(0, LguestData.HCALL_RING - 1);
                int entry = LGUEST_DATA + LguestData.HCALLS + slot * LguestData.HCALL_ENTRY_SIZE;
                program.store(entry, ringSafe(0, data.consumeBoolean() ? data.consumeInt(0, 18) : data.consumeInt()));
                program.store(entry + 4, argument(data));
                program.store(entry + 8, argument(data));
                program.store(entry + 12, argument(data));
                program.storeByte(LGUEST_DATA + LguestData.HCALL_STATUS + slot, data.consumeBoolean() ? 0 : data.consumeInt(0, 255));
            }
        }
    }

    /** HALT becomes FLUSH_ASYNC where it would be a ring entry's number (see the header). */
    private static int ringSafe(int offset, int value) {
        boolean number = offset >= LguestData.HCALLS && offset < LguestData.RESERVE_MEM
                && (offset - LguestData.HCALLS) % LguestData.HCALL_ENTRY_SIZE == 0;
        return (offset == 0 || number) && value == Hypercall.HALT.number ? Hypercall.FLUSH_ASYNC.number : value;
    }

    /** An argument: an address the guest has, one near its limit, a kernel address, or any word. */
    private static int argument(FuzzedDataProvider data) {
        return switch (data.consumeInt(0, 4)) {
            case 0 -> data.consumeInt(0, PFN_LIMIT * 4096);
            case 1 -> (PFN_LIMIT - 2 + data.consumeInt(0, 4)) * 4096 + data.consumeInt(0, 4095);
            case 2 -> 0xC0000000 + data.consumeInt(0, 0x400000);
            case 3 -> data.consumeInt(0, 300);
            default -> data.consumeInt();
        };
    }

    /** lguest_data as a Linux guest fills it before LGUEST_INIT. */
    private static void linuxLguestData(GuestMemory memory) {
        for (int slot = 0; slot < LguestData.HCALL_RING; slot++) {
            memory.write8(LGUEST_DATA + LguestData.HCALL_STATUS + slot, LguestData.HCALL_DONE);
        }
        memory.write32(LGUEST_DATA + LguestData.NOIRQ_START, 0xC0101000);
        memory.write32(LGUEST_DATA + LguestData.NOIRQ_END, 0xC0101020);
        memory.write32(LGUEST_DATA + LguestData.KERNEL_ADDRESS, 0xC0000000);
        memory.write32(LGUEST_DATA + LguestData.SYSCALL_VEC, Lguest.SYSCALL_VECTOR);
        memory.write32(LGUEST_DATA + LguestData.BLOCKED_INTERRUPTS, 1);
    }

    /** A guest with 1 MiB of RAM, of which the top frames are the Launcher's, and the Launcher's page tables. */
    private static Guest newGuest(Arena arena) {
        MemorySegment ram = arena.allocate(RAM_PAGES * 4096L, 4096);
        ram.asSlice((long) PFN_LIMIT * 4096).fill(LAUNCHER_PATTERN);
        Guest guest = new Guest(new GuestMemory(ram), new PhysicalMemory(ram), PFN_LIMIT, Thread.currentThread());
        // Virtual 0 and 0xC0000000 both map every frame below the limit, as lguest_entry arranges.
        guest.memory.write32(PGDIR, PTES | 7);
        guest.memory.write32(PGDIR + 0x300 * 4, PTES | 7);
        for (int frame = 0; frame < PFN_LIMIT; frame++) {
            guest.memory.write32(PTES + frame * 4L, frame << 12 | 7);
        }
        return guest;
    }

    /** The default build's components, wired by hand as Declarative Services would. */
    private static SwitcherComponent wiredSwitcher(long[] instructionsLeft) throws Exception {
        GuestSegments segments = new GuestSegments();
        LguestShadowPageTables mmu = new LguestShadowPageTables();
        GuestTraps traps = new GuestTraps();
        call(traps, "setSegmentManager", dev.lguest.api.segments.SegmentManager.class, segments);
        call(traps, "setPageTables", dev.lguest.api.mmu.ShadowPageTables.class, mmu);
        GuestHypercalls hypercalls = new GuestHypercalls();
        call(hypercalls, "setTrapDelivery", dev.lguest.api.traps.TrapDelivery.class, traps);
        call(hypercalls, "setSegmentManager", dev.lguest.api.segments.SegmentManager.class, segments);
        call(hypercalls, "setShadowPageTables", dev.lguest.api.mmu.ShadowPageTables.class, mmu);
        SwitcherComponent switcher = new SwitcherComponent();
        switcher.bindCpuFactory(limited(new InterpreterCpuFactory(), instructionsLeft), java.util.Map.of());
        switcher.bindPageTables(mmu, java.util.Map.of());
        switcher.bindSegments(segments, java.util.Map.of());
        switcher.bindTraps(traps, java.util.Map.of());
        switcher.bindHypercalls(hypercalls, java.util.Map.of());
        return switcher;
    }

    private static void call(Object target, String method, Class<?> type, Object argument) throws Exception {
        Method m = target.getClass().getDeclaredMethod(method, type);
        m.setAccessible(true);
        m.invoke(target, argument);
    }

    /** CPUs that share one instruction allowance; spent, the run ends with a budget exit and the guest dies. */
    private static X86CpuFactory limited(InterpreterCpuFactory factory, long[] left) {
        return new X86CpuFactory() {
            @Override
            public X86Cpu create(PhysicalMemory bus) {
                X86Cpu cpu = factory.create(bus);
                return (X86Cpu) Proxy.newProxyInstance(X86Cpu.class.getClassLoader(), new Class<?>[] {X86Cpu.class},
                        (proxy, method, args) -> {
                            if (!method.getName().equals("run")) {
                                try {
                                    return method.invoke(cpu, args);
                                } catch (java.lang.reflect.InvocationTargetException e) {
                                    throw e.getCause();
                                }
                            }
                            long budget = Math.min((Long) args[0], left[0]);
                            if (budget <= 0) {
                                // A triple fault: the switcher ends the guest as lguest does.
                                return new CpuExit(ExitReason.SHUTDOWN, 0, 0, 0);
                            }
                            CpuExit exit = cpu.run(budget);
                            left[0] -= Math.max(exit.instructions(), 1);
                            return exit;
                        });
            }

            @Override
            public String name() {
                return factory.name();
            }
        };
    }

    /** Hand-assembled i386 code. */
    private static final class Program {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Program set(int opcode, int value) {
            out.write(opcode);
            word(value);
            return this;
        }

        Program hypercall(int number, int arg1, int arg2, int arg3) {
            set(0xB8, number == Hypercall.HALT.number ? Hypercall.FLUSH_ASYNC.number : number);
            set(0xBA, arg1);
            set(0xBB, arg2);
            set(0xB9, arg3);
            out.write(0xCD);
            out.write(Lguest.TRAP_ENTRY);
            return this;
        }

        Program notify(int address) {
            return hypercall(Hypercall.NOTIFY.number, address, 0, 0);
        }

        Program store(int address, int value) {
            out.write(0xC7);
            out.write(0x05);
            word(address);
            word(value);
            return this;
        }

        Program storeByte(int address, int value) {
            out.write(0xC6);
            out.write(0x05);
            word(address);
            out.write(value);
            return this;
        }

        /** int3, ud2, cli, hlt, int $0x80, a load, a store, popf: each traps or changes state at ring 1. */
        Program trap(int kind, int address) {
            switch (kind) {
                case 0 -> out.write(0xCC);
                case 1 -> out.writeBytes(new byte[] {0x0F, 0x0B});
                case 2 -> out.write(0xFA);
                case 3 -> out.write(0xF4);
                case 4 -> out.writeBytes(new byte[] {(byte) 0xCD, (byte) 0x80});
                case 5 -> set(0xA1, address);
                case 6 -> set(0xA3, address);
                default -> {
                    set(0x68, address);
                    out.write(0x9D);
                }
            }
            return this;
        }

        private void word(int value) {
            for (int i = 0; i < 4; i++) {
                out.write(value >>> (8 * i));
            }
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
