package dev.lguest.launcher;

import dev.lguest.api.memory.PhysicalMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * The guest's memory, straight from the kernel.
 *
 * Arena.allocate clears what it allocates, byte by byte from Java's point of view: a
 * 64 MB guest cost about 80 ms of a cold JVM's start (half of it for the demo guest's
 * 32 MB) before the first guest instruction. Anonymous pages from mmap are zero already
 * and cost nothing until the guest touches them, so a guest pays for the memory it
 * uses, when it uses it, as it would under lguest. The pages go back (munmap) when the
 * arena closes. Where mmap cannot be called (not Linux, no native access), or refuses,
 * the memory comes from the arena as before: same contents, only slower.
 */
final class GuestRam {
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    /** MAP_PRIVATE | MAP_ANONYMOUS, as Linux numbers them. */
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final long MAP_FAILED = -1L;
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;

    static {
        MethodHandle mmap = null;
        MethodHandle munmap = null;
        if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")) {
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
                munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
            } catch (RuntimeException | Error unavailable) {
                // No native access for this code, or no such symbols: the arena does it.
                mmap = null;
                munmap = null;
            }
        }
        MMAP = mmap;
        MUNMAP = munmap;
    }

    private GuestRam() {
    }

    /** {@code bytes} of zeroed, page-aligned memory that lives as long as {@code arena}. */
    static MemorySegment allocate(Arena arena, long bytes) {
        if (MMAP != null) {
            try {
                MemorySegment at = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, bytes, PROT_READ_WRITE,
                        MAP_PRIVATE_ANONYMOUS, -1, 0L);
                if (at.address() != MAP_FAILED && at.address() != 0) {
                    return at.reinterpret(bytes, arena, unused -> unmap(at, bytes));
                }
            } catch (Throwable refused) {
                // Fall through to the arena, which either has the memory or says why not.
            }
        }
        return arena.allocate(bytes, PhysicalMemory.PAGE_SIZE);
    }

    /** Whether {@link #allocate} maps memory from the kernel here (tests). */
    static boolean mapsFromKernel() {
        return MMAP != null;
    }

    private static void unmap(MemorySegment at, long bytes) {
        try {
            int ignored = (int) MUNMAP.invokeExact(at, bytes);
        } catch (Throwable cannot) {
            // The process keeps the pages: nothing else can be done while closing.
        }
    }
}
