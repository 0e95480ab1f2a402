// The semantics of the one-byte opcode map, and the operand plumbing every instruction
// shares (ModRM register/memory operands, effective addresses, read-modify-write).
// The two-byte map, string instructions and system instructions live in their own
// classes. An instruction writes memory and registers only after its last possible
// fault, and EIP is committed last, which is what makes faults restartable.
// Instructions arrive decoded (from a cached Block, or one at a time from step()); the
// commonest 32-bit forms of compiled code go to specialised handlers chosen once at
// decode time (classify), which do exactly what the general path does, minus the
// operand-size and opcode dispatch.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.CF;
import static dev.lguest.api.cpu.X86.EAX;
import static dev.lguest.api.cpu.X86.EBP;
import static dev.lguest.api.cpu.X86.ECX;
import static dev.lguest.api.cpu.X86.EDX;
import static dev.lguest.api.cpu.X86.ESP;
import static dev.lguest.api.cpu.X86.OF;
import static dev.lguest.api.cpu.X86.ZF;

import dev.lguest.api.cpu.X86;

final class Executor {
    final InterpreterCpu cpu;
    /** The instruction being executed: a decoded one from the code cache, or the scratch one. */
    Instruction in;
    final Alu alu;
    final int[] gpr;
    final LinearMemory memory;
    final Segments segments;
    private final TwoByteOps twoByte;
    final StringOps strings;
    final SystemOps system;
    final X87 x87;

    /** Where execution continues; instructions that jump change it. */
    int next;
    /** The linear address of the current read-modify-write memory operand. */
    private int updateLinear;

    /** The instruction the slow path decodes into. */
    private final Instruction scratch;

    Executor(InterpreterCpu cpu, Instruction scratch) {
        this.cpu = cpu;
        this.scratch = scratch;
        this.in = scratch;
        this.alu = cpu.alu;
        this.gpr = cpu.gpr;
        this.memory = cpu.memory;
        this.segments = cpu.segments;
        this.twoByte = new TwoByteOps(this);
        this.strings = new StringOps(this);
        this.system = new SystemOps(this);
        this.x87 = new X87(cpu);
    }

    /** Decodes and executes the one instruction at EIP (code the cache does not hold). */
    void step() {
        in = scratch;
        execute(cpu.decode());
    }

    /**
     * Executes a decoded block from its start, at most {@code budget} instructions, and
     * leaves it early when an instruction went elsewhere than the next one or asked the
     * block to end. Fast forms neither read nor write EIP or the retired count, so a run
     * of them commits both once, when it ends; the general path, which may read them
     * (RDTSC, interrupts, far transfers), finds them committed. A fault in a fast form
     * commits what ran before it and leaves EIP at the faulting instruction, exactly as
     * if each instruction had committed its own.
     */
    void runBlock(Block block, long budget) {
        Instruction[] code = block.code;
        int count = budget < code.length ? (int) budget : code.length;
        // A closing compare-and-branch pair runs as one step when the budget covers both.
        int single = block.endsInCompareAndBranch && count == code.length ? count - 2 : count;
        int uncommitted = 0;
        for (int i = 0; i < single; i++) {
            Instruction instruction = code[i];
            if (instruction.handler == GENERIC) {
                if (uncommitted != 0) {
                    cpu.retired += uncommitted;
                    uncommitted = 0;
                    cpu.eip = instruction.start;
                }
                execute(instruction);
                if (cpu.eip != instruction.next || cpu.blockEnded) {
                    return;
                }
            } else {
                // Fast handlers take the instruction as an argument and never read the
                // field: it is set only if one throws, for run() to blame the right one.
                next = instruction.next;
                try {
                    executeFast(instruction);
                } catch (RuntimeException | StackOverflowError e) {
                    in = instruction;
                    cpu.retired += uncommitted;
                    cpu.eip = instruction.start;
                    throw e;
                }
                uncommitted++;
                if (next != instruction.next || cpu.blockEnded) {
                    cpu.retired += uncommitted;
                    cpu.eip = next;
                    return;
                }
            }
        }
        if (uncommitted != 0) {
            cpu.retired += uncommitted;
            cpu.eip = next;
        }
        if (single != count) {
            compareAndBranch(code[single], code[single + 1]);
        }
    }

    /**
     * A flag-setting fast form and the Jcc after it, without dispatching the Jcc. A fault
     * in the Jcc (a target past the CS limit) still finds the first one retired.
     */
    private void compareAndBranch(Instruction setsFlags, Instruction branch) {
        in = setsFlags;
        next = setsFlags.next;
        executeFast(setsFlags);
        if (cpu.blockEnded) {
            // Its store dropped this code: the Jcc is decoded again.
            cpu.eip = next;
            cpu.retired++;
            return;
        }
        in = branch;
        next = branch.next;
        try {
            conditionalJump(branch);
        } catch (RuntimeException e) {
            cpu.eip = branch.start;
            cpu.retired++;
            throw e;
        }
        cpu.eip = next;
        cpu.retired += 2;
    }

    /** Fast forms that only compute and set flags: never jump, end a block or stop the CPU. */
    static boolean setsFlagsOnly(int handler) {
        return switch (handler) {
            case ALU_RM_R32, ALU_R_RM32, ALU_RM_IMM32, ALU_EAX_IMM32, TEST_RM_R32, INC_R32, DEC_R32 -> true;
            default -> false;
        };
    }

    // ---- fast handlers: the commonest forms of compiled code, with nothing to look up ----

    static final int GENERIC = 0, MOV_RM_R32 = 1, MOV_R_RM32 = 2, MOV_R_IMM32 = 3, MOV_RM_IMM32 = 4,
            ALU_RM_R32 = 5, ALU_R_RM32 = 6, ALU_RM_IMM32 = 7, ALU_EAX_IMM32 = 8, TEST_RM_R32 = 9,
            INC_R32 = 10, DEC_R32 = 11, PUSH_R32 = 12, POP_R32 = 13, LEA32 = 14, JCC = 15, JMP = 16,
            CALL32 = 17, RET32 = 18, MOVZX8 = 19, MOVZX16 = 20, MOV8_RM_R = 21, MOV8_R_RM = 22, NOP = 23,
            SHIFT32 = 24, IMUL_R_RM32 = 25, IMUL_R_RM_IMM32 = 26;

    /** The fast handler for a decoded instruction, or GENERIC; exactly the general path's semantics. */
    static int classify(Instruction in) {
        int op = in.opcode;
        if (in.lock || (in.flags & OpcodeTable.UNDEFINED) != 0) {
            return GENERIC;
        }
        boolean o32 = in.operand32;
        if (op < 0x40 && (op & 7) < 6) {
            int operation = op >>> 3;
            if (operation == Alu.ADC || operation == Alu.SBB) {
                return GENERIC; // they read CF: the general path
            }
            return switch (op & 7) {
                case 1 -> o32 ? ALU_RM_R32 : GENERIC;
                case 3 -> o32 ? ALU_R_RM32 : GENERIC;
                case 5 -> o32 ? ALU_EAX_IMM32 : GENERIC;
                default -> GENERIC;
            };
        }
        if (op >= 0x70 && op <= 0x7f || op >= 0x180 && op <= 0x18f) {
            return JCC;
        }
        return switch (op) {
            case 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47 -> o32 ? INC_R32 : GENERIC;
            case 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f -> o32 ? DEC_R32 : GENERIC;
            case 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57 -> o32 ? PUSH_R32 : GENERIC;
            case 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f -> o32 ? POP_R32 : GENERIC;
            case 0x69, 0x6b -> o32 ? IMUL_R_RM_IMM32 : GENERIC;
            case 0x81, 0x83 -> o32 && in.reg != Alu.ADC && in.reg != Alu.SBB ? ALU_RM_IMM32 : GENERIC;
            case 0x85 -> o32 ? TEST_RM_R32 : GENERIC;
            case 0x88 -> MOV8_RM_R;
            case 0x89 -> o32 ? MOV_RM_R32 : GENERIC;
            case 0x8a -> MOV8_R_RM;
            case 0x8b -> o32 ? MOV_R_RM32 : GENERIC;
            case 0x8d -> o32 && in.mod != 3 ? LEA32 : GENERIC;
            case 0x90 -> NOP;
            case 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf -> o32 ? MOV_R_IMM32 : GENERIC;
            case 0xc1, 0xd1, 0xd3 -> o32 ? SHIFT32 : GENERIC;
            case 0xc3 -> o32 ? RET32 : GENERIC;
            case 0xc7 -> o32 && in.reg == 0 ? MOV_RM_IMM32 : GENERIC;
            case 0xe8 -> o32 ? CALL32 : GENERIC;
            case 0xe9, 0xeb -> JMP;
            case 0x1af -> o32 ? IMUL_R_RM32 : GENERIC;
            case 0x1b6 -> o32 ? MOVZX8 : GENERIC;
            case 0x1b7 -> o32 ? MOVZX16 : GENERIC;
            default -> GENERIC;
        };
    }

    /**
     * Runs one instruction. A fast form goes to its own small method: HotSpot inlines
     * little into a method this big (each case is rare compared with the whole), but
     * every handler method is compiled on its own with the memory access, the segment
     * check and the flags work inlined, so a fast instruction costs one call.
     */
    void execute(Instruction instruction) {
        in = instruction;
        next = instruction.next;
        if (instruction.handler != GENERIC) {
            executeFast(instruction);
        } else {
            if (instruction.lock) {
                checkLock();
            }
            if (instruction.opcode >= 0x100) {
                twoByte.execute();
            } else if (executeOneByte()) {
                return; // the instruction committed EIP and the retirement itself
            }
        }
        cpu.eip = next;
        cpu.retired++;
    }

    /**
     * A fast form: registers, flags and memory only. It sets {@code next} if it jumps
     * and leaves EIP and the retired count to its caller.
     */
    private void executeFast(Instruction instruction) {
        // Every case is one call taking the instruction: that keeps this switch under
        // HotSpot's limit for inlining hot methods (325 bytecodes), so it is compiled
        // into the block loop itself and a fast instruction costs a single call.
        switch (instruction.handler) {
            case MOV_RM_R32 -> movRegisterToRm32(instruction);
            case MOV_R_RM32 -> movFromRm32(instruction);
            case MOV_R_IMM32 -> movImmediateToRegister32(instruction);
            case MOV_RM_IMM32 -> movImmediateToRm32(instruction);
            case ALU_RM_R32 -> arithmeticRegisterToRm32(instruction);
            case ALU_RM_IMM32 -> arithmeticImmediateToRm32(instruction);
            case ALU_R_RM32 -> arithmeticToReg32(instruction);
            case ALU_EAX_IMM32 -> arithmeticToEax32(instruction);
            case TEST_RM_R32 -> test32(instruction);
            case INC_R32 -> incrementRegister32(instruction);
            case DEC_R32 -> decrementRegister32(instruction);
            case PUSH_R32 -> pushRegister32(instruction);
            case POP_R32 -> pop32(instruction);
            case LEA32 -> loadEffectiveAddress32(instruction);
            case JCC -> conditionalJump(instruction);
            case JMP -> jump(instruction);
            case CALL32 -> call32(instruction);
            case RET32 -> return32(instruction);
            case MOVZX8 -> movZeroExtend8(instruction);
            case MOVZX16 -> movZeroExtend16(instruction);
            case MOV8_RM_R -> movRegisterToRm8(instruction);
            case MOV8_R_RM -> movRmToRegister8(instruction);
            case SHIFT32 -> shift32(instruction);
            case IMUL_R_RM32 -> multiplyRegister32(instruction);
            case IMUL_R_RM_IMM32 -> multiplyImmediate32(instruction);
            default -> {
                // NOP. (classify() hands out no other handler; there is no room left
                // under the inlining limit for a check that it did not.)
            }
        }
    }

    // ---- the fast handlers' bodies ----

    private void movRegisterToRm32(Instruction in) {
        movToRm32(in, gpr[in.reg]);
    }

    private void movImmediateToRm32(Instruction in) {
        movToRm32(in, in.immediate);
    }

    private void movImmediateToRegister32(Instruction in) {
        gpr[in.opcode & 7] = in.immediate;
    }

    private void arithmeticRegisterToRm32(Instruction in) {
        arithmeticToRm32(in, in.opcode >>> 3, gpr[in.reg]);
    }

    private void arithmeticImmediateToRm32(Instruction in) {
        arithmeticToRm32(in, in.reg, in.immediate);
    }

    private void incrementRegister32(Instruction in) {
        int r = in.opcode & 7;
        gpr[r] = alu.increment32(gpr[r], 1);
    }

    private void decrementRegister32(Instruction in) {
        int r = in.opcode & 7;
        gpr[r] = alu.increment32(gpr[r], -1);
    }

    private void pushRegister32(Instruction in) {
        cpu.push(gpr[in.opcode & 7], 4);
    }

    private void loadEffectiveAddress32(Instruction in) {
        gpr[in.reg] = effectiveAddress(in);
    }

    private void jump(Instruction in) {
        jumpTo(in, next + in.immediate);
    }

    private void movZeroExtend8(Instruction in) {
        gpr[in.reg] = readRm(in, 1);
    }

    private void movZeroExtend16(Instruction in) {
        gpr[in.reg] = readRm(in, 2);
    }

    private void movRegisterToRm8(Instruction in) {
        writeRm(in, 1, cpu.reg(in.reg, 1));
    }

    private void movRmToRegister8(Instruction in) {
        cpu.setReg(in.reg, 1, readRm(in, 1));
    }

    private void multiplyRegister32(Instruction in) {
        gpr[in.reg] = multiplySigned(gpr[in.reg], readRm(in, 4), 4);
    }

    private void multiplyImmediate32(Instruction in) {
        gpr[in.reg] = multiplySigned(readRm(in, 4), in.immediate, 4);
    }

    private void movToRm32(Instruction in, int value) {
        if (in.mod == 3) {
            gpr[in.rm] = value;
        } else {
            writeMemory32(in, value);
        }
    }

    private void movFromRm32(Instruction in) {
        gpr[in.reg] = in.mod == 3 ? gpr[in.rm] : readMemory32(in);
    }

    /** The 32-bit ALU operations with a ModRM destination; CMP only reads it. */
    private void arithmeticToRm32(Instruction in, int operation, int source) {
        if (in.mod == 3) {
            int result = alu.arith32(operation, gpr[in.rm], source);
            if (operation != Alu.CMP) {
                gpr[in.rm] = result;
            }
        } else if (operation == Alu.CMP) {
            alu.arith32(operation, readMemory32(in), source);
        } else {
            // Translated for writing before the flags change, so the store cannot fault.
            int linear = segments.linearForWrite(in.segment(), effectiveAddress(in), 4);
            int destination = memory.read32(linear, cpu.accessKind | LinearMemory.WRITE);
            memory.write32(linear, alu.arith32(operation, destination, source), cpu.accessKind);
        }
    }

    private void arithmeticToReg32(Instruction in) {
        int operation = in.opcode >>> 3;
        int source = in.mod == 3 ? gpr[in.rm] : readMemory32(in);
        int result = alu.arith32(operation, gpr[in.reg], source);
        if (operation != Alu.CMP) {
            gpr[in.reg] = result;
        }
    }

    private void arithmeticToEax32(Instruction in) {
        int operation = in.opcode >>> 3;
        int result = alu.arith32(operation, gpr[EAX], in.immediate);
        if (operation != Alu.CMP) {
            gpr[EAX] = result;
        }
    }

    private void test32(Instruction in) {
        int value = in.mod == 3 ? gpr[in.rm] : readMemory32(in);
        alu.arith32(Alu.AND, value, gpr[in.reg]);
    }

    private void pop32(Instruction in) {
        int value = cpu.pop(4);
        gpr[in.opcode & 7] = value;
    }

    private void conditionalJump(Instruction in) {
        if (alu.condition(in.opcode & 15)) {
            jumpTo(in, next + in.immediate);
        }
    }

    private void call32(Instruction in) {
        jumpTo(in, next + in.immediate);
        cpu.push(in.next, 4);
    }

    private void return32(Instruction in) {
        jumpTo(in, cpu.peek(0, 4));
        gpr[ESP] = cpu.stackPointerPlus(gpr[ESP], 4);
    }

    private void shift32(Instruction in) {
        int op = in.opcode;
        shiftRm(in, 4, op == 0xc1 ? in.immediate & 0xff : op == 0xd1 ? 1 : gpr[ECX] & 0xff);
    }

    // ---- operands ----

    // A fast form's 32-bit memory operand, through the executor's own references to the
    // segments and the TLB: what cpu.read32 and cpu.write32 do, one object less to load
    // on every access (HotSpot reloads each field through the chain: it does not trust
    // final instance fields).
    private int readMemory32(Instruction in) {
        return memory.read32(segments.linearForRead(in.segment(), effectiveAddress(in), 4), cpu.accessKind);
    }

    private void writeMemory32(Instruction in, int value) {
        memory.write32(segments.linearForWrite(in.segment(), effectiveAddress(in), 4), value, cpu.accessKind);
    }

    int effectiveAddress() {
        return effectiveAddress(in);
    }

    int effectiveAddress(Instruction in) {
        int address = in.displacement;
        if (in.base >= 0) {
            address += gpr[in.base];
        }
        if (in.index >= 0) {
            address += gpr[in.index] << in.scale;
        }
        return in.address32 ? address : address & 0xffff;
    }

    int readRm(int size) {
        return readRm(in, size);
    }

    // The forms taking the instruction serve the fast handlers, which run without
    // storing the instruction into the field first (see runBlock).
    private int readRm(Instruction in, int size) {
        if (in.mod == 3) {
            return cpu.reg(in.rm, size);
        }
        return cpu.read(in.segment(), effectiveAddress(in), size);
    }

    void writeRm(int size, int value) {
        writeRm(in, size, value);
    }

    private void writeRm(Instruction in, int size, int value) {
        if (in.mod == 3) {
            cpu.setReg(in.rm, size, value);
        } else {
            cpu.write(in.segment(), effectiveAddress(in), size, value);
        }
    }

    /** Reads an operand that will be written back: write rights are checked now. */
    int readForUpdate(int size) {
        return readForUpdate(in, size);
    }

    private int readForUpdate(Instruction in, int size) {
        if (in.mod == 3) {
            return cpu.reg(in.rm, size);
        }
        updateLinear = segments.linearForWrite(in.segment(), effectiveAddress(in), size);
        return memory.read(updateLinear, size, cpu.accessKind | LinearMemory.WRITE);
    }

    void writeBack(int size, int value) {
        writeBack(in, size, value);
    }

    private void writeBack(Instruction in, int size, int value) {
        if (in.mod == 3) {
            cpu.setReg(in.rm, size, value);
        } else {
            memory.write(updateLinear, size, value, cpu.accessKind);
        }
    }

    int operandSize() {
        return in.operand32 ? 4 : 2;
    }

    /** Byte for even opcodes of a pair, word/dword for odd ones. */
    int sizeOf(int opcode) {
        return (opcode & 1) == 0 ? 1 : operandSize();
    }

    void requireMemoryOperand() {
        if (in.mod == 3) {
            throw CpuFault.invalidOpcode();
        }
    }

    void requirePrivilege0() {
        if (cpu.cpl != 0) {
            throw CpuFault.generalProtection(0);
        }
    }

    /** A near branch target: truncated to 16 bits for 16-bit operands, checked against CS. */
    void jumpTo(int target) {
        jumpTo(in, target);
    }

    private void jumpTo(Instruction in, int target) {
        if (!in.operand32) {
            target &= 0xffff;
        }
        if (!segments.withinCodeLimit(target)) {
            throw CpuFault.generalProtection(0);
        }
        next = target;
    }

    /** Only read-modify-write instructions with a memory destination may be LOCKed. */
    private void checkLock() {
        if (!lockable(in)) {
            throw CpuFault.invalidOpcode();
        }
    }

    /** Whether LOCK is allowed on this instruction (else it raises #UD). */
    static boolean lockable(Instruction in) {
        int op = in.opcode;
        int reg = in.reg;
        return in.hasMemoryOperand() && switch (op) {
            case 0x00, 0x01, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19, 0x20, 0x21, 0x28, 0x29, 0x30, 0x31,
                 0x86, 0x87, 0x1ab, 0x1b3, 0x1bb, 0x1b0, 0x1b1, 0x1c0, 0x1c1 -> true;
            case 0x80, 0x81, 0x82, 0x83 -> reg != 7;
            case 0xf6, 0xf7 -> reg == 2 || reg == 3;
            case 0xfe, 0xff -> reg < 2;
            case 0x1ba -> reg >= 5;
            case 0x1c7 -> reg == 1;
            default -> false;
        };
    }

    // ---- the one-byte map ----

    /** Returns true if the instruction already committed EIP and its retirement. */
    private boolean executeOneByte() {
        int op = in.opcode;
        switch (op) {
            case 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
                 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
                 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d,
                 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d -> arithmetic(op);
            case 0x06, 0x0e, 0x16, 0x1e -> cpu.push(segments.cache[op >>> 3].selector(), operandSize());
            case 0x07, 0x17, 0x1f -> popSegment(op >>> 3);
            case 0x27 -> system.decimalAdjust(false);
            case 0x2f -> system.decimalAdjust(true);
            case 0x37 -> system.asciiAdjust(false);
            case 0x3f -> system.asciiAdjust(true);
            case 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47 -> {
                int size = operandSize();
                cpu.setReg(op & 7, size, alu.increment(cpu.reg(op & 7, size), 1, size));
            }
            case 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f -> {
                int size = operandSize();
                cpu.setReg(op & 7, size, alu.increment(cpu.reg(op & 7, size), -1, size));
            }
            case 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57 -> cpu.push(gpr[op & 7], operandSize());
            case 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f -> {
                int size = operandSize();
                int value = cpu.pop(size);
                cpu.setReg(op & 7, size, value);
            }
            case 0x60 -> pushAll();
            case 0x61 -> popAll();
            case 0x62 -> bound();
            case 0x63 -> adjustRpl();
            case 0x68, 0x6a -> cpu.push(in.immediate, operandSize());
            case 0x69, 0x6b -> {
                int size = operandSize();
                cpu.setReg(in.reg, size, multiplySigned(readRm(size), in.immediate, size));
            }
            case 0x6c, 0x6d, 0x6e, 0x6f -> strings.execute(op);
            case 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
                 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f -> {
                if (alu.condition(op & 15)) {
                    jumpTo(next + in.immediate);
                }
            }
            case 0x80, 0x81, 0x82, 0x83 -> {
                int size = op == 0x80 || op == 0x82 ? 1 : operandSize();
                arithmeticToRm(in.reg, size, in.immediate);
            }
            case 0x84, 0x85 -> {
                int size = sizeOf(op);
                alu.logic(readRm(size) & cpu.reg(in.reg, size), size);
            }
            case 0x86, 0x87 -> {
                int size = sizeOf(op);
                int old = readForUpdate(size);
                writeBack(size, cpu.reg(in.reg, size));
                cpu.setReg(in.reg, size, old);
            }
            case 0x88, 0x89 -> writeRm(sizeOf(op), cpu.reg(in.reg, sizeOf(op)));
            case 0x8a, 0x8b -> cpu.setReg(in.reg, sizeOf(op), readRm(sizeOf(op)));
            case 0x8c -> {
                if (in.reg > 5) {
                    throw CpuFault.invalidOpcode();
                }
                int selector = segments.cache[in.reg].selector();
                writeRm(in.mod == 3 ? operandSize() : 2, selector);
            }
            case 0x8d -> {
                requireMemoryOperand();
                cpu.setReg(in.reg, operandSize(), effectiveAddress());
            }
            case 0x8e -> loadSegmentFromRm();
            case 0x8f -> popToRm();
            case 0x90 -> {
                // NOP (and PAUSE with F3)
            }
            case 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97 -> {
                int size = operandSize();
                int other = cpu.reg(op & 7, size);
                cpu.setReg(op & 7, size, cpu.reg(EAX, size));
                cpu.setReg(EAX, size, other);
            }
            case 0x98 -> {
                if (in.operand32) {
                    gpr[EAX] = (short) gpr[EAX];
                } else {
                    cpu.setReg(EAX, 2, (byte) gpr[EAX]);
                }
            }
            case 0x99 -> {
                if (in.operand32) {
                    gpr[EDX] = gpr[EAX] >> 31;
                } else {
                    cpu.setReg(EDX, 2, ((short) gpr[EAX]) >> 15);
                }
            }
            case 0x9a -> {
                int size = operandSize();
                cpu.interrupts.farCall(in.immediate2(), size == 4 ? in.immediate : in.immediate & 0xffff, size, next);
                return committed();
            }
            case 0x9b -> x87.waitInstruction();
            case 0x9c -> cpu.push(cpu.eflags() & ~(X86.VM | X86.RF), operandSize());
            case 0x9d -> {
                int size = operandSize();
                int popped = cpu.peek(0, size);
                cpu.setEflags(cpu.interrupts.mergeFlags(popped, cpu.cpl, size, false));
                cpu.gpr[ESP] = cpu.stackPointerPlus(cpu.gpr[ESP], size);
                if ((cpu.eflags & X86.TF) != 0) {
                    cpu.endBlock(); // the instructions after it are single-stepped (run loop)
                }
                cpu.alignmentChanged();
            }
            case 0x9e -> {
                int mask = X86.SF | X86.ZF | X86.AF | X86.PF | X86.CF;
                cpu.setEflags((cpu.eflags() & ~mask) | ((gpr[EAX] >>> 8) & mask));
            }
            case 0x9f -> cpu.setReg(4, 1, (cpu.eflags() & 0xd5) | X86.EFLAGS_FIXED);
            case 0xa0, 0xa1 -> {
                int size = sizeOf(op);
                cpu.setReg(EAX, size, cpu.read(in.segment(), moffs(), size));
            }
            case 0xa2, 0xa3 -> {
                int size = sizeOf(op);
                cpu.write(in.segment(), moffs(), size, cpu.reg(EAX, size));
            }
            case 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf -> strings.execute(op);
            case 0xa8, 0xa9 -> {
                int size = sizeOf(op);
                alu.logic(cpu.reg(EAX, size) & in.immediate, size);
            }
            case 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7 -> cpu.setReg(op & 7, 1, in.immediate);
            case 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf -> cpu.setReg(op & 7, operandSize(), in.immediate);
            case 0xc0, 0xc1 -> shiftRm(sizeOf(op), in.immediate & 0xff);
            case 0xd0, 0xd1 -> shiftRm(sizeOf(op), 1);
            case 0xd2, 0xd3 -> shiftRm(sizeOf(op), gpr[ECX] & 0xff);
            case 0xc2, 0xc3 -> {
                int size = operandSize();
                int target = cpu.peek(0, size);
                jumpTo(target);
                int release = op == 0xc2 ? in.immediate & 0xffff : 0;
                gpr[ESP] = cpu.stackPointerPlus(gpr[ESP], size + release);
            }
            case 0xc4 -> loadFarPointer(Segments.ES);
            case 0xc5 -> loadFarPointer(Segments.DS);
            case 0xc6, 0xc7 -> {
                if (in.reg != 0) {
                    throw CpuFault.invalidOpcode();
                }
                writeRm(sizeOf(op), in.immediate);
            }
            case 0xc8 -> enter();
            case 0xc9 -> {
                int size = operandSize();
                // ESP takes EBP (SP takes BP on a 16-bit stack), then the old frame pointer is popped.
                int frameTop = cpu.stack32() ? gpr[EBP] : (gpr[ESP] & 0xffff0000) | (gpr[EBP] & 0xffff);
                int savedFrame = cpu.read(Segments.SS, cpu.stackOffset(frameTop), size);
                gpr[ESP] = cpu.stackPointerPlus(frameTop, size);
                cpu.setReg(EBP, size, savedFrame);
            }
            case 0xca, 0xcb -> {
                cpu.interrupts.farReturn(operandSize(), op == 0xca ? in.immediate & 0xffff : 0);
                return committed();
            }
            case 0xcc -> {
                cpu.interrupts.softwareInterrupt(X86.BP, next);
                return true;
            }
            case 0xcd -> {
                cpu.interrupts.softwareInterrupt(in.immediate & 0xff, next);
                return true;
            }
            case 0xf1 -> {
                // INT1 (ICEBP): a debug trap after the instruction, through the #DB gate
                // whatever its DPL (under lguest, the guest kernel's debug handler).
                cpu.interrupts.debugInterrupt(next);
                return true;
            }
            case 0xce -> {
                if ((cpu.eflags() & OF) != 0) {
                    cpu.interrupts.softwareInterrupt(X86.OF_VECTOR, next);
                    return true;
                }
            }
            case 0xcf -> {
                cpu.interrupts.interruptReturn(operandSize(), next);
                return committed();
            }
            case 0xd6 -> cpu.setReg(EAX, 1, alu.carry() != 0 ? 0xff : 0); // SALC, undocumented but P6
            case 0xd4 -> system.asciiAdjustMultiply(in.immediate & 0xff);
            case 0xd5 -> system.asciiAdjustDivide(in.immediate & 0xff);
            case 0xd7 -> {
                int offset = in.address32 ? gpr[X86.EBX] + (gpr[EAX] & 0xff) : (gpr[X86.EBX] + (gpr[EAX] & 0xff)) & 0xffff;
                cpu.setReg(EAX, 1, cpu.read(in.segment(), offset, 1));
            }
            case 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf -> {
                // The FPU reads (FCMOVcc) and writes (FCOMI) cpu.eflags itself: no flags pending.
                alu.materialize();
                x87.execute(this);
            }
            case 0xe0, 0xe1, 0xe2 -> {
                int count = in.address32 ? gpr[ECX] - 1 : (gpr[ECX] - 1) & 0xffff;
                boolean zf = (cpu.eflags() & ZF) != 0;
                boolean taken = count != 0 && (op == 0xe2 || (op == 0xe1 ? zf : !zf));
                if (taken) {
                    jumpTo(next + in.immediate);
                }
                cpu.setReg(ECX, in.address32 ? 4 : 2, count);
            }
            case 0xe3 -> {
                int count = in.address32 ? gpr[ECX] : gpr[ECX] & 0xffff;
                if (count == 0) {
                    jumpTo(next + in.immediate);
                }
            }
            case 0xe4, 0xe5, 0xec, 0xed -> system.input(op);
            case 0xe6, 0xe7, 0xee, 0xef -> system.output(op);
            case 0xe8 -> {
                int size = operandSize();
                int target = next + in.immediate;
                jumpTo(target);
                cpu.push(returnAddress(), size);
            }
            case 0xe9, 0xeb -> jumpTo(next + in.immediate);
            case 0xea -> {
                int size = operandSize();
                cpu.interrupts.farJump(in.immediate2(), size == 4 ? in.immediate : in.immediate & 0xffff);
                return committed();
            }
            case 0xf4 -> {
                requirePrivilege0();
                // No interrupt sources reach this CPU: a halt at CPL 0 hands the CPU back.
                cpu.eip = next;
                cpu.retired++;
                cpu.requestExit(dev.lguest.api.cpu.ExitReason.INTERRUPTED, 0, 0);
                return true;
            }
            case 0xf5 -> cpu.setEflags(cpu.eflags() ^ CF);
            case 0xf6, 0xf7 -> group3(sizeOf(op));
            case 0xf8 -> cpu.setEflags(cpu.eflags() & ~CF);
            case 0xf9 -> cpu.setEflags(cpu.eflags() | CF);
            case 0xfa, 0xfb -> {
                if (cpu.cpl > ((cpu.eflags >>> 12) & 3)) {
                    throw CpuFault.generalProtection(0);
                }
                cpu.eflags = op == 0xfa ? cpu.eflags & ~X86.IF : cpu.eflags | X86.IF;
            }
            case 0xfc -> cpu.eflags &= ~X86.DF;
            case 0xfd -> cpu.eflags |= X86.DF;
            case 0xfe -> {
                if (in.reg > 1) {
                    throw CpuFault.invalidOpcode();
                }
                writeBack(1, alu.increment(readForUpdate(1), in.reg == 0 ? 1 : -1, 1));
            }
            case 0xff -> {
                return group5();
            }
            default -> throw CpuFault.invalidOpcode();
        }
        return false;
    }

    /** The return address a near CALL pushes: the instruction after the CALL. */
    private int returnAddress() {
        return in.next;
    }

    /** For instructions that set EIP themselves (far transfers): count the retirement. */
    private boolean committed() {
        cpu.retired++;
        return true;
    }

    private int moffs() {
        return in.address32 ? in.displacement : in.displacement & 0xffff;
    }

    private void arithmetic(int op) {
        int operation = op >>> 3;
        int form = op & 7;
        int size = (form & 1) == 0 ? 1 : operandSize();
        switch (form) {
            case 0, 1 -> arithmeticToRm(operation, size, cpu.reg(in.reg, size));
            case 2, 3 -> {
                int result = alu.arith(operation, cpu.reg(in.reg, size), readRm(size), size);
                if (operation != Alu.CMP) {
                    cpu.setReg(in.reg, size, result);
                }
            }
            default -> {
                int result = alu.arith(operation, cpu.reg(EAX, size), in.immediate, size);
                if (operation != Alu.CMP) {
                    cpu.setReg(EAX, size, result);
                }
            }
        }
    }

    private void arithmeticToRm(int operation, int size, int source) {
        if (operation == Alu.CMP) {
            alu.arith(operation, readRm(size), source, size);
        } else {
            // readForUpdate already translated the operand for writing, so the write
            // back cannot fault after the flags have changed.
            int destination = readForUpdate(size);
            writeBack(size, alu.arith(operation, destination, source, size));
        }
    }

    private void shiftRm(int size, int count) {
        shiftRm(in, size, count);
    }

    private void shiftRm(Instruction in, int size, int count) {
        int value = readForUpdate(in, size);
        writeBack(in, size, alu.shift(in.reg, value, count, size));
    }

    private void group3(int size) {
        switch (in.reg) {
            case 0, 1 -> alu.logic(readRm(size) & in.immediate, size);
            case 2 -> writeBack(size, ~readForUpdate(size));
            case 3 -> {
                int value = readForUpdate(size);
                writeBack(size, alu.negate(value, size));
            }
            case 4 -> multiplyAccumulator(readRm(size), size, false);
            case 5 -> multiplyAccumulator(readRm(size), size, true);
            case 6 -> divideAccumulator(readRm(size), size, false);
            default -> divideAccumulator(readRm(size), size, true);
        }
    }

    private boolean group5() {
        int size = operandSize();
        switch (in.reg) {
            case 0, 1 -> writeBack(size, alu.increment(readForUpdate(size), in.reg == 0 ? 1 : -1, size));
            case 2 -> {
                int target = readRm(size);
                jumpTo(target);
                cpu.push(in.next, size);
            }
            case 3, 5 -> {
                requireMemoryOperand();
                int address = effectiveAddress();
                int offset = cpu.read(in.segment(), address, size);
                int selector = cpu.read(in.segment(), address + size, 2);
                if (in.reg == 3) {
                    cpu.interrupts.farCall(selector, offset, size, in.next);
                } else {
                    cpu.interrupts.farJump(selector, offset);
                }
                return committed();
            }
            case 4 -> jumpTo(readRm(size));
            case 6 -> cpu.push(readRm(size), size);
            default -> throw CpuFault.invalidOpcode();
        }
        return false;
    }

    /** MUL and one-operand IMUL: the accumulator times the operand into (E)DX:(E)AX or AX. */
    private void multiplyAccumulator(int source, int size, boolean signed) {
        long product = Alu.multiplied(gpr[EAX], source, size, signed);
        switch (size) {
            case 1 -> cpu.setReg(EAX, 2, (int) product);
            case 2 -> {
                cpu.setReg(EAX, 2, (int) product);
                cpu.setReg(EDX, 2, (int) product >>> 16);
            }
            default -> {
                gpr[EAX] = (int) product;
                gpr[EDX] = (int) (product >>> 32);
            }
        }
        alu.setStatus(Alu.multiplyStatus(product, size, signed));
    }

    /** Two- and three-operand IMUL: a truncated product, CF=OF when it did not fit. */
    int multiplySigned(int a, int b, int size) {
        long packed = Alu.multipliedSigned(a, b, size);
        alu.setStatus((int) (packed >>> 32));
        return (int) packed;
    }

    private void divideAccumulator(int divisorValue, int size, boolean signed) {
        long packed = Alu.divided(gpr[EDX], gpr[EAX], divisorValue, size, signed);
        int quotient = (int) packed, remainder = (int) (packed >>> 32);
        switch (size) {
            case 1 -> cpu.setReg(EAX, 2, (quotient & 0xff) | ((remainder & 0xff) << 8));
            case 2 -> {
                cpu.setReg(EAX, 2, quotient);
                cpu.setReg(EDX, 2, remainder);
            }
            default -> {
                gpr[EAX] = quotient;
                gpr[EDX] = remainder;
            }
        }
    }

    private void popSegment(int segment) {
        int size = operandSize();
        int selector = cpu.peek(0, size) & 0xffff;
        int newEsp = cpu.stackPointerPlus(gpr[ESP], size);
        loadSegment(segment, selector);
        gpr[ESP] = newEsp;
    }

    void loadSegment(int segment, int selector) {
        if (segment == Segments.SS) {
            segments.loadStack(selector);
        } else if (segment == Segments.CS) {
            throw CpuFault.invalidOpcode();
        } else {
            segments.loadData(segment, selector);
        }
    }

    private void loadSegmentFromRm() {
        if (in.reg > 5 || in.reg == Segments.CS) {
            throw CpuFault.invalidOpcode();
        }
        loadSegment(in.reg, readRm(2));
    }

    /** LES, LDS (and LSS, LFS, LGS from the two-byte map): offset and selector from memory. */
    void loadFarPointer(int segment) {
        requireMemoryOperand();
        int size = operandSize();
        int address = effectiveAddress();
        int offset = cpu.read(in.segment(), address, size);
        int selector = cpu.read(in.segment(), address + size, 2);
        loadSegment(segment, selector);
        cpu.setReg(in.reg, size, offset);
    }

    private void popToRm() {
        if (in.reg != 0) {
            throw CpuFault.invalidOpcode();
        }
        int size = operandSize();
        int value = cpu.peek(0, size);
        int oldEsp = gpr[ESP];
        int newEsp = cpu.stackPointerPlus(oldEsp, size);
        // The destination address is computed with ESP already incremented.
        gpr[ESP] = newEsp;
        try {
            writeRm(size, value);
        } catch (CpuFault f) {
            gpr[ESP] = oldEsp;
            throw f;
        }
        if (in.mod == 3 && in.rm == ESP) {
            cpu.setReg(ESP, size, value);
        }
    }

    private void pushAll() {
        int size = operandSize();
        int esp = gpr[ESP];
        int original = esp;
        for (int r = 0; r < 8; r++) {
            esp = cpu.pushAt(esp, r == ESP ? original : gpr[r], size);
        }
        gpr[ESP] = esp;
    }

    private void popAll() {
        int size = operandSize();
        int[] values = new int[8];
        for (int r = 7; r >= 0; r--) {
            values[r] = cpu.peek((7 - r) * size, size);
        }
        for (int r = 0; r < 8; r++) {
            if (r != ESP) {
                cpu.setReg(r, size, values[r]);
            }
        }
        gpr[ESP] = cpu.stackPointerPlus(gpr[ESP], 8 * size);
    }

    private void bound() {
        requireMemoryOperand();
        int size = operandSize();
        int address = effectiveAddress();
        int lower = Alu.signExtend(cpu.read(in.segment(), address, size), size);
        int upper = Alu.signExtend(cpu.read(in.segment(), address + size, size), size);
        int index = Alu.signExtend(cpu.reg(in.reg, size), size);
        if (index < lower || index > upper) {
            throw CpuFault.of(X86.BR, 0);
        }
    }

    private void adjustRpl() {
        // A read, and a write only when the RPL changes: ARPL of a read-only selector
        // that needs no adjustment does not fault.
        int destination = readRm(2);
        int source = cpu.reg(in.reg, 2);
        if ((destination & 3) < (source & 3)) {
            writeRm(2, (destination & ~3) | (source & 3));
            cpu.setEflags(cpu.eflags() | ZF);
        } else {
            cpu.setEflags(cpu.eflags() & ~ZF);
        }
    }

    private void enter() {
        int size = operandSize();
        int allocation = in.immediate & 0xffff;
        int level = in.immediate2() & 31;
        int esp = cpu.pushAt(gpr[ESP], gpr[EBP], size);
        int frame = esp;
        int ebp = gpr[EBP];
        for (int i = 1; i < level; i++) {
            ebp = cpu.stackPointerPlus(ebp, -size);
            esp = cpu.pushAt(esp, cpu.read(Segments.SS, cpu.stackOffset(ebp), size), size);
        }
        if (level > 0) {
            esp = cpu.pushAt(esp, frame, size);
        }
        esp = cpu.stackPointerPlus(esp, -allocation);
        // ENTER faults if a write at the final stack pointer would, before anything is
        // committed, so a frame that does not fit is caught at the ENTER itself.
        int probe = segments.linearForWrite(Segments.SS, cpu.stackOffset(esp), size);
        memory.probeWrite(probe, size, cpu.accessKind);
        // The operand size, not the stack size, says how much of EBP takes the frame.
        cpu.setReg(EBP, size, frame);
        gpr[ESP] = esp;
    }
}
