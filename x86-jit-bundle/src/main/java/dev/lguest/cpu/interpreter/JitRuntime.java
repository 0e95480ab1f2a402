// The small pieces of the interpreter's semantics that compiled blocks call instead of
// spelling them out in bytecode: a near branch's limit check, the stack's reads, and
// the read-modify-write of a memory operand. Each is what the interpreter's fast
// handlers do (Executor), so compiled code and interpreter agree by construction, and
// each is small enough for HotSpot to inline into the compiled block.
//
// Memory operands take a fast path first: when the segment is flat (Segments keeps one
// bit per segment register current, and FLAT_STACK for a flat 32-bit SS) the offset is
// the linear address, and a TLB entry into guest RAM for the current privilege's
// access kind (LinearMemory.ramEntries) gives the RAM offset straight away; the access
// is then one get or set on the RAM segment, little-endian and unaligned (also for the
// read and write back of a read-modify-write operand, by its linear address). Everything
// else (a segment with a base or limit, alignment checking, a TLB miss, an entry that
// is not RAM, an access running into the next page, which also covers the 4 GiB end
// of a flat segment) goes the interpreter's way, which checks the segment, walks the
// page tables, sets accessed and dirty bits, raises #GP, #SS or #PF exactly, tells the
// code cache of a store into code and records data breakpoints. A store into a page
// holding decoded code is never a hit (such pages have no write entries), nor is any
// access to a watched page (they have no entries).
//
// Compiled blocks call the forms taking the RAM segment and ramEntries as arguments,
// passing their class's constants (BlockTranslator.RAM): the same objects as
// cpu.memory's, so HotSpot folds their fields into the inlined access. The flat bits
// and the access kind come as one int from the block's ACCESS local (access()), not
// from the CPU's fields, which HotSpot had to read again on every access of a loop
// whose TLB miss path (a call it does not inline) had ever been taken.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.LinearMemory.BYTE;
import static dev.lguest.cpu.interpreter.LinearMemory.INT_LE;
import static dev.lguest.cpu.interpreter.LinearMemory.SHORT_LE;
import static dev.lguest.cpu.interpreter.LinearMemory.WRITE;
import static dev.lguest.cpu.interpreter.LinearMemory.ramOffset;
import static dev.lguest.cpu.interpreter.LinearMemory.slot;

import java.lang.foreign.MemorySegment;

final class JitRuntime {
    /**
     * How a block's ACCESS local packs what every fast path tests (access): the access
     * kind (LinearMemory.READ or USER) in the low bits, the flat readable segments
     * (Segments.flatReadable, FLAT_STACK included) from READABLE_SHIFT up, the flat
     * writable ones from WRITABLE_SHIFT up.
     */
    static final int KIND = 3, READABLE_SHIFT = 8, WRITABLE_SHIFT = 16;
    /**
     * Every slot(linear, kind) is below the TLB's 4 kinds times its sets; masking with
     * this (the array's length less one) says so to HotSpot, which then drops the
     * array's bounds check from every access.
     */
    private static final int SLOTS = LinearMemory.SLOT_COUNT - 1;

    private JitRuntime() {
    }

    /**
     * The access kind and flat segments as they stand, packed (KIND, READABLE_SHIFT,
     * WRITABLE_SHIFT). A block reads them once into a local instead of three fields per
     * access: HotSpot must read fields again after any call it did not inline (a TLB
     * miss's slow path in the same loop), and a local it keeps in a register. Nothing a
     * compiled instruction does changes them except a segment load, after which the
     * block reads them again, as after every instruction the interpreter runs (a
     * change of CPL, CR0 or EFLAGS.AC goes that way); a new run() starts afresh.
     */
    static int access(InterpreterCpu cpu) {
        Segments segments = cpu.segments;
        return cpu.accessKind | segments.flatReadable << READABLE_SHIFT | segments.flatWritable << WRITABLE_SHIFT;
    }

    /** A near branch target must lie within CS, or the branch raises #GP(0) (jumpTo). */
    static void checkTarget(InterpreterCpu cpu, int target) {
        if (!cpu.segments.withinCodeLimit(target)) {
            throw CpuFault.generalProtection(0);
        }
    }

    /** The doubleword at the top of the stack when ESP is {@code esp} (peek). */
    static int stackTop32(InterpreterCpu cpu, int esp, int access, MemorySegment ram, long[] entries) {
        if ((access & Segments.FLAT_STACK << READABLE_SHIFT) != 0) {
            long at = ramOffset(entries[slot(esp, access & KIND) & SLOTS], esp, 4);
            if (at >= 0) {
                return ram.get(INT_LE, at);
            }
        }
        return cpu.read(Segments.SS, cpu.stackOffset(esp), 4);
    }

    /**
     * ESP past {@code size} bytes popped (stackPointerPlus): a flat stack is 32-bit, so
     * its ESP just moves on, without reading SS's descriptor (three loads one after the
     * other on every POP and RET). The flat bit comes from the block's ACCESS local, as
     * for the stack read before it.
     */
    static int stackPointerAfterPop(InterpreterCpu cpu, int esp, int size, int access) {
        if ((access & Segments.FLAT_STACK << READABLE_SHIFT) != 0) {
            return esp + size;
        }
        return cpu.stackPointerPlus(esp, size);
    }

    /** PUSH of a doubleword: stores it below {@code esp} and returns the new ESP (pushAt). */
    static int push32(InterpreterCpu cpu, int esp, int value, int access, MemorySegment ram, long[] entries) {
        if ((access & Segments.FLAT_STACK << WRITABLE_SHIFT) != 0) {
            int top = esp - 4;
            long at = ramOffset(entries[slot(top, access & KIND | WRITE) & SLOTS], top, 4);
            if (at >= 0) {
                ram.set(INT_LE, at, value);
                return top;
            }
        }
        return cpu.pushAt(esp, value, 4);
    }

    // ---- memory operands (InterpreterCpu.read32, read, write32, write) ----

    static int read32(InterpreterCpu cpu, int segment, int offset, int access, MemorySegment ram, long[] entries) {
        if ((access & 1 << READABLE_SHIFT + segment) != 0) {
            long at = ramOffset(entries[slot(offset, access & KIND) & SLOTS], offset, 4);
            if (at >= 0) {
                return ram.get(INT_LE, at);
            }
        }
        return cpu.read32(segment, offset);
    }

    static int read16(InterpreterCpu cpu, int segment, int offset, int access, MemorySegment ram, long[] entries) {
        if ((access & 1 << READABLE_SHIFT + segment) != 0) {
            long at = ramOffset(entries[slot(offset, access & KIND) & SLOTS], offset, 2);
            if (at >= 0) {
                return ram.get(SHORT_LE, at) & 0xffff;
            }
        }
        return cpu.read(segment, offset, 2);
    }

    static int read8(InterpreterCpu cpu, int segment, int offset, int access, MemorySegment ram, long[] entries) {
        if ((access & 1 << READABLE_SHIFT + segment) != 0) {
            long at = ramOffset(entries[slot(offset, access & KIND) & SLOTS], offset, 1);
            if (at >= 0) {
                return ram.get(BYTE, at) & 0xff;
            }
        }
        return cpu.read(segment, offset, 1);
    }

    static void write32(InterpreterCpu cpu, int segment, int offset, int value, int access, MemorySegment ram, long[] entries) {
        if ((access & 1 << WRITABLE_SHIFT + segment) != 0) {
            long at = ramOffset(entries[slot(offset, access & KIND | WRITE) & SLOTS], offset, 4);
            if (at >= 0) {
                ram.set(INT_LE, at, value);
                return;
            }
        }
        cpu.write32(segment, offset, value);
    }

    static void write16(InterpreterCpu cpu, int segment, int offset, int value, int access, MemorySegment ram, long[] entries) {
        if ((access & 1 << WRITABLE_SHIFT + segment) != 0) {
            long at = ramOffset(entries[slot(offset, access & KIND | WRITE) & SLOTS], offset, 2);
            if (at >= 0) {
                ram.set(SHORT_LE, at, (short) value);
                return;
            }
        }
        cpu.write(segment, offset, 2, value);
    }

    static void write8(InterpreterCpu cpu, int segment, int offset, int value, int access, MemorySegment ram, long[] entries) {
        if ((access & 1 << WRITABLE_SHIFT + segment) != 0) {
            long at = ramOffset(entries[slot(offset, access & KIND | WRITE) & SLOTS], offset, 1);
            if (at >= 0) {
                ram.set(BYTE, at, (byte) value);
                return;
            }
        }
        cpu.write(segment, offset, 1, value);
    }

    /** CF as 0 or 1 after INC/DEC or ADD/SUB noted lazily: what Alu.carry() answers for them. */
    static int carryAfterAdd(int result, int destination) {
        return Integer.compareUnsigned(result, destination) < 0 ? 1 : 0;
    }

    static int carryAfterSubtract(int destination, int source) {
        return Integer.compareUnsigned(destination, source) < 0 ? 1 : 0;
    }

    /** A read-modify-write operand of any size: its linear address with write rights checked. */
    static int linearForUpdate(InterpreterCpu cpu, int segment, int offset, int size) {
        return cpu.segments.linearForWrite(segment, offset, size);
    }

    /** The operand's value, read with write rights (a write entry: writable, dirty, not code). */
    static int readForUpdate(InterpreterCpu cpu, int linear, int size, int access, MemorySegment ram, long[] entries) {
        long at = ramOffset(entries[slot(linear, access & KIND | WRITE) & SLOTS], linear, size);
        if (at >= 0) {
            return switch (size) {
                case 4 -> ram.get(INT_LE, at);
                case 2 -> ram.get(SHORT_LE, at) & 0xffff;
                default -> ram.get(BYTE, at) & 0xff;
            };
        }
        return cpu.memory.read(linear, size, access & KIND | WRITE);
    }

    static void writeBack(InterpreterCpu cpu, int linear, int value, int size, int access, MemorySegment ram, long[] entries) {
        long at = ramOffset(entries[slot(linear, access & KIND | WRITE) & SLOTS], linear, size);
        if (at >= 0) {
            switch (size) {
                case 4 -> ram.set(INT_LE, at, value);
                case 2 -> ram.set(SHORT_LE, at, (short) value);
                default -> ram.set(BYTE, at, (byte) value);
            }
            return;
        }
        cpu.memory.write(linear, size, value, access & KIND);
    }

    /** The six status flags with the Alu's pending record worked out. */
    static int status(InterpreterCpu cpu) {
        return cpu.eflags() & Alu.STATUS;
    }

    /** The stack's {@code size} bytes at ESP + delta, ESP being {@code esp} (peek). */
    static int stackRead(InterpreterCpu cpu, int esp, int delta, int size) {
        return cpu.read(Segments.SS, cpu.stackOffset(cpu.stackPointerPlus(esp, delta)), size);
    }

    /** Where LEAVE pops the old frame pointer from: EBP, or BP within ESP's upper half on a 16-bit stack. */
    static int leaveFrameTop(InterpreterCpu cpu, int esp, int ebp) {
        return cpu.stack32() ? ebp : (esp & 0xffff0000) | (ebp & 0xffff);
    }
}
