// CMP of bytes and words with lazy flags, as the 32-bit CMP has them. A loop over a
// byte array tests each byte with a CMP and a Jcc (intloop's sieve: cmpb $0,
// composite(%eax); jne), and working out all six flags of every such CMP (the Alu's
// subtraction, parity included) and then the condition from them was half of that
// loop's machine code. Instead the CMP only keeps its two operands, zero-extended, and
// their difference in the flag locals (Emitter.FLAGS_SUB8 or FLAGS_SUB16, kinds known
// when translating, like the Alu's lazy ones), and a Jcc reading them is one compare:
//  - CF (B, AE) and CF or ZF (BE, A): the zero-extended operands compared, which as
//    ints below 65,536 compare the same signed and unsigned;
//  - ZF (E, NE): the difference is zero exactly when the operands are equal;
//  - SF (S, NS): the difference's bit 7 (15 for words), the narrow result's sign;
//  - SF != OF (L, GE) and ZF or SF != OF (LE, G): the operands sign-extended from
//    their size and compared as ints, which is the signed comparison the CMP's
//    flags stand for;
//  - OF and PF alone (O, NO, P, NP), and anything that needs the flags as a whole
//    (an exit, a fault, the interpreter, PUSHF, a loop head), get all six worked out
//    by the Alu's own subStatus from the operands, which is what the CMP would have
//    put in the flags. The Alu has no narrow kind, so the record never reaches it lazy.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.BlockTranslator.CD_ALU;
import static dev.lguest.cpu.interpreter.Emitter.DESTINATION;
import static dev.lguest.cpu.interpreter.Emitter.FLAGS_SUB16;
import static dev.lguest.cpu.interpreter.Emitter.FLAGS_SUB8;
import static dev.lguest.cpu.interpreter.Emitter.RESULT;
import static dev.lguest.cpu.interpreter.Emitter.SOURCE;

import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;

final class NarrowCompare {
    private NarrowCompare() {
    }

    /**
     * With the destination and source of a CMP of {@code size} (1 or 2) bytes on the
     * stack: notes the record (after the operands' last possible fault) and its kind.
     */
    static void emit(Emitter e, int size) {
        CodeBuilder code = e.code;
        int mask = Alu.mask(size);
        // The source may be an immediate, sign-extended when it was decoded.
        code.loadConstant(mask).iand().istore(Emitter.TEMP2);
        code.loadConstant(mask).iand().istore(Emitter.TEMP);
        e.closeFaultRange();
        if (e.flagsDead()) {
            return;
        }
        code.iload(Emitter.TEMP).iload(Emitter.TEMP2).isub().istore(RESULT);
        code.iload(Emitter.TEMP).istore(DESTINATION);
        code.iload(Emitter.TEMP2).istore(SOURCE);
        e.flagKind = size == 1 ? FLAGS_SUB8 : FLAGS_SUB16;
    }

    static int size(int kind) {
        return kind == FLAGS_SUB8 ? 1 : 2;
    }

    /** Emits a push of the six status flags the record stands for (the Alu's subStatus). */
    static void emitStatus(CodeBuilder code, int kind) {
        code.iload(DESTINATION).iload(SOURCE).iconst_0().loadConstant(size(kind))
                .invokestatic(CD_ALU, "subStatus", Emitter.MTD_STATUS4);
    }

    /** Whether condition cc is one compare on the record (see above); else the flags are worked out. */
    static boolean branches(int cc) {
        int kind = cc >>> 1;
        return kind != 0 && kind != 5;
    }

    /** Jumps to {@code taken} if condition cc (one that branches() accepts) holds after the CMP. */
    static void emitBranch(Emitter e, int cc, int kind, Label taken) {
        CodeBuilder code = e.code;
        boolean negate = (cc & 1) != 0;
        switch (cc >>> 1) {
            case 1, 3 -> {
                code.iload(DESTINATION).iload(SOURCE);
                e.compareBranch(Emitter.less(cc >>> 1 == 3, negate), taken);
            }
            case 2 -> {
                code.iload(RESULT);
                branchOnZero(code, !negate, taken);
            }
            case 4 -> {
                code.iload(RESULT).loadConstant(Alu.signBit(size(kind))).iand();
                branchOnZero(code, negate, taken);
            }
            case 6, 7 -> {
                code.iload(DESTINATION);
                signExtend(code, kind);
                code.iload(SOURCE);
                signExtend(code, kind);
                e.compareBranch(Emitter.less(cc >>> 1 == 7, negate), taken);
            }
            default -> throw new IllegalArgumentException("condition " + cc + " is not one compare after a narrow CMP");
        }
    }

    /** Jumps to {@code taken} if the int on the stack is zero ({@code whenZero}) or if it is not. */
    private static void branchOnZero(CodeBuilder code, boolean whenZero, Label taken) {
        if (whenZero) {
            code.ifeq(taken);
        } else {
            code.ifne(taken);
        }
    }

    private static void signExtend(CodeBuilder code, int kind) {
        if (kind == FLAGS_SUB8) {
            code.i2b();
        } else {
            code.i2s();
        }
    }
}
