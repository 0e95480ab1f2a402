// The small pieces of the interpreter's semantics that compiled blocks call instead of
// spelling them out in bytecode: a near branch's limit check, the stack's reads, and
// the read-modify-write of a memory operand. Each is what the interpreter's fast
// handlers do (Executor), so compiled code and interpreter agree by construction, and
// each is small enough for HotSpot to inline into the compiled block.
package dev.lguest.cpu.interpreter;

final class JitRuntime {
    private JitRuntime() {
    }

    /** A near branch target must lie within CS, or the branch raises #GP(0) (jumpTo). */
    static void checkTarget(InterpreterCpu cpu, int target) {
        if (!cpu.segments.withinCodeLimit(target)) {
            throw CpuFault.generalProtection(0);
        }
    }

    /** The doubleword at the top of the stack when ESP is {@code esp} (peek). */
    static int stackTop32(InterpreterCpu cpu, int esp) {
        return cpu.read(Segments.SS, cpu.stackOffset(esp), 4);
    }

    /** A memory destination's linear address, with write rights checked (readForUpdate). */
    static int linearForUpdate32(InterpreterCpu cpu, int segment, int offset) {
        return cpu.segments.linearForWrite(segment, offset, 4);
    }

    static int readForUpdate32(InterpreterCpu cpu, int linear) {
        return cpu.memory.read32(linear, cpu.accessKind | LinearMemory.WRITE);
    }

    static void writeBack32(InterpreterCpu cpu, int linear, int value) {
        cpu.memory.write32(linear, value, cpu.accessKind);
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

    static int readForUpdate(InterpreterCpu cpu, int linear, int size) {
        return cpu.memory.read(linear, size, cpu.accessKind | LinearMemory.WRITE);
    }

    static void writeBack(InterpreterCpu cpu, int linear, int value, int size) {
        cpu.memory.write(linear, size, value, cpu.accessKind);
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
