// The forms a Linux guest's compiled blocks handed to the interpreter most, measured
// with lguest.jit.countInterpreted on a boot and the benchmark programs: MOV between
// the accumulator and a direct address (A0-A3, the kernel's per-CPU and global
// variables), the hint NOPs (0F 18-1F, the multi-byte NOPs of alternatives patching),
// CLD and STD, and one iteration of a string instruction without a repeat prefix
// (MOVS, CMPS, STOS, LODS, SCAS at every size and address size: the byte loops of
// the kernel's inflate and string functions, musl's). Each reads, faults and writes
// in the order of the interpreter's handler (Executor, StringOps.once): ESI, EDI and
// the accumulator change only after the last access, DF as it stands in EFLAGS picks
// the direction. REP forms stay with the interpreter, whose StringOps moves page-sized
// runs of RAM at once (its bulk path) and keeps the slice and RF rules in one place.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.BlockTranslator.CD_CPU;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_void;

import dev.lguest.api.cpu.X86;
import java.lang.constant.MethodTypeDesc;

final class StringForms {
    private static final MethodTypeDesc MTD_READ = MethodTypeDesc.of(CD_int, CD_CPU, CD_int, CD_int);
    private static final MethodTypeDesc MTD_WRITE = MethodTypeDesc.of(CD_void, CD_CPU, CD_int, CD_int, CD_int);
    private static final int STRING_REGISTERS = (1 << X86.ESI) | (1 << X86.EDI);
    /** The local holding this string instruction's step: +size, or -size with DF set. */
    private static final int STEP = Emitter.SCRATCH4;

    private StringForms() {
    }

    static void register() {
        for (int opcode = 0xa0; opcode <= 0xa3; opcode++) {
            boolean store = opcode >= 0xa2;
            BlockTranslator.addForm(opcode, in -> true, 0, false,
                    (e, in) -> moveOffset(e, in, ByteWordForms.sizeOf(in), store));
        }
        for (int opcode = 0x118; opcode <= 0x11f; opcode++) {
            // Hint NOPs: the operand is decoded but never accessed (TwoByteOps).
            BlockTranslator.addForm(opcode, in -> true, 0, false, (e, in) -> {
            });
        }
        BlockTranslator.addForm(0xfc, in -> true, 0, false, (e, in) -> direction(e, false));
        BlockTranslator.addForm(0xfd, in -> true, 0, false, (e, in) -> direction(e, true));
        for (int opcode : new int[] {0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf}) {
            int kind = opcode & ~1;
            BlockTranslator.addForm(opcode, in -> in.repeat == 0, STRING_REGISTERS, false,
                    (e, in) -> once(e, in, kind, ByteWordForms.sizeOf(in)));
        }
    }

    /** MOV AL/AX/EAX, moffs and MOV moffs, AL/AX/EAX. */
    private static void moveOffset(Emitter e, Instruction in, int size, boolean store) {
        int offset = in.address32 ? in.displacement : in.displacement & 0xffff;
        e.code.aload(Emitter.CPU).loadConstant(in.segment()).loadConstant(offset);
        e.mayFault();
        if (store) {
            e.loadReg(X86.EAX, size);
            e.invokeAccess(writer(size), MTD_WRITE);
            e.closeFaultRange();
            e.exitIfBlockEnded(in);
        } else {
            e.invokeAccess(reader(size), MTD_READ);
            e.commitReg(X86.EAX, size);
        }
    }

    /** CLD, STD: DF is kept in EFLAGS itself (never pending in the Alu). */
    private static void direction(Emitter e, boolean set) {
        e.code.aload(Emitter.CPU).dup().getfield(CD_CPU, "eflags", CD_int);
        if (set) {
            e.code.loadConstant(X86.DF).ior();
        } else {
            e.code.loadConstant(~X86.DF).iand();
        }
        e.code.putfield(CD_CPU, "eflags", CD_int);
    }

    /** One iteration of MOVS (A4), CMPS (A6), STOS (AA), LODS (AC) or SCAS (AE) on {@code size} bytes. */
    private static void once(Emitter e, Instruction in, int kind, int size) {
        // The step: size - 2 * size * DF.
        e.code.loadConstant(size).aload(Emitter.CPU).getfield(CD_CPU, "eflags", CD_int)
                .loadConstant(Integer.numberOfTrailingZeros(X86.DF)).iushr().iconst_1().iand()
                .loadConstant(2 * size).imul().isub().istore(STEP);
        switch (kind) {
            case 0xa4 -> {
                read(e, in, in.segment(), X86.ESI, size);
                e.code.istore(Emitter.SCRATCH);
                write(e, in, X86.EDI, size, () -> e.code.iload(Emitter.SCRATCH));
                advance(e, in, X86.ESI);
                advance(e, in, X86.EDI);
                e.exitIfBlockEnded(in);
            }
            case 0xa6 -> {
                read(e, in, in.segment(), X86.ESI, size);
                read(e, in, Segments.ES, X86.EDI, size);
                compare(e, size);
                advance(e, in, X86.ESI);
                advance(e, in, X86.EDI);
            }
            case 0xaa -> {
                write(e, in, X86.EDI, size, () -> e.loadReg(X86.EAX, size));
                advance(e, in, X86.EDI);
                e.exitIfBlockEnded(in);
            }
            case 0xac -> {
                read(e, in, in.segment(), X86.ESI, size);
                e.commitReg(X86.EAX, size);
                advance(e, in, X86.ESI);
            }
            default -> {
                e.loadReg(X86.EAX, size);
                read(e, in, Segments.ES, X86.EDI, size);
                compare(e, size);
                advance(e, in, X86.EDI);
            }
        }
    }

    /** Pushes {@code size} bytes at segment:index register (SI alone with 16-bit addresses). */
    private static void read(Emitter e, Instruction in, int segment, int index, int size) {
        e.code.aload(Emitter.CPU).loadConstant(segment);
        pushIndex(e, in, index);
        e.mayFault();
        e.invokeAccess(reader(size), MTD_READ);
    }

    /** Writes what {@code value} pushes to ES:EDI (DI); the caller ends the block if that dropped its code. */
    private static void write(Emitter e, Instruction in, int index, int size, Runnable value) {
        e.code.aload(Emitter.CPU).loadConstant(Segments.ES);
        pushIndex(e, in, index);
        value.run();
        e.mayFault();
        e.invokeAccess(writer(size), MTD_WRITE);
        e.closeFaultRange();
    }

    private static void pushIndex(Emitter e, Instruction in, int index) {
        e.loadReg(index);
        if (!in.address32) {
            e.code.loadConstant(0xffff).iand();
        }
    }

    /** CMPS, SCAS: the flags of first - second (both on the stack), as CMP sets them; nothing is kept. */
    private static void compare(Emitter e, int size) {
        e.arithmetic(Alu.CMP, size);
        e.code.pop();
        e.commitFlags();
    }

    /** ESI or EDI moved by the step, within SI or DI alone with 16-bit addresses. */
    private static void advance(Emitter e, Instruction in, int index) {
        if (in.address32) {
            e.loadReg(index);
            e.code.iload(STEP).iadd();
        } else {
            e.loadReg(index);
            e.code.loadConstant(0xffff0000).iand();
            e.loadReg(index);
            e.code.iload(STEP).iadd().loadConstant(0xffff).iand().ior();
        }
        e.commitReg(index);
    }

    private static String reader(int size) {
        return switch (size) {
            case 1 -> "read8";
            case 2 -> "read16";
            default -> "read32";
        };
    }

    private static String writer(int size) {
        return switch (size) {
            case 1 -> "write8";
            case 2 -> "write16";
            default -> "write32";
        };
    }
}
