// What a translated block is to the CPU: an object whose run() executes the whole block
// on the CPU's state, exactly as Executor.runBlock would with a budget covering it. The
// translating CPU's BlockTranslator makes one hidden class per block extending this; the
// decoded instructions stay reachable for the instructions it hands to the interpreter.
// It lives with the interpreter (which never makes one) so that Block can hold it in a
// field of this type: the translating CPU's run loop then tells a compiled block from
// an uncompiled one by a null check instead of a type check, which HotSpot compiled
// speculatively on the types it had seen and threw away as new hidden classes came.
package dev.lguest.cpu.interpreter;

abstract class CompiledBlock {
    /** The block's decoded instructions, by position. */
    final Instruction[] code;
    /**
     * code.length, kept beside the class pointer: the translating CPU's chain of blocks
     * (BlockChain) checks the budget covers the block it calls next with a field of the
     * object it calls anyway, where the code array's length was a load from another
     * object, the hottest miss of that loop.
     */
    final int instructions;

    CompiledBlock(Instruction[] code) {
        this(code, code.length);
    }

    /**
     * A translation whose code array holds more than the instructions it may run before
     * its first budget check: a region of several blocks (the translator's), entered
     * at its first block, whose length {@code instructions} is.
     */
    CompiledBlock(Instruction[] code, int instructions) {
        this.code = code;
        this.instructions = instructions;
    }

    /**
     * Runs the block from its first instruction, at most {@code budget} instructions
     * (at least the block's length). A block that jumps back to one of its own
     * instructions goes round inside while the budget holds the rest of the block
     * from there and no interrupt() is pending. Leaves EIP, the registers, the pending
     * flags and the retired count as the interpreter would at the instruction boundary
     * where it stops, and throws the interpreter's CpuFault (with that state committed)
     * when an instruction faults.
     */
    abstract void run(InterpreterCpu cpu, long budget);

    /** A stand-in that marks a state of a block's translation (failed, queued); it never runs. */
    static final class Marker extends CompiledBlock {
        private final String state;

        Marker(String state) {
            super(new Instruction[0]);
            this.state = state;
        }

        @Override
        void run(InterpreterCpu cpu, long budget) {
            throw new IllegalStateException("a block marked " + state + " has no compiled form to run");
        }
    }
}
