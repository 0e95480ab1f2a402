// BT, BTS, BTR and BTC (0F A3/AB/B3/BB) on memory with the bit offset in a register,
// compiled: the kernel's set_bit/clear_bit on bitmaps (page flags, CPU masks, the
// scheduler's run-queue bitmap). Unlike every other memory operand the offset reaches
// outside the addressed word: it is signed, and offset >> 5 (>> 4 for words) whole
// words are added to the effective address, so BT [EBX], EAX with EAX = -1 tests bit 31
// of the doubleword below EBX. The bit within the word is the offset's low 5 (4) bits.
// As in the interpreter (TwoByteOps.bitTest): BT only reads; the others translate the
// word for writing first, so nothing after the read can fault, then write it back; CF
// takes the bit as it was, the other flags stay.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.BlockTranslator.CD_CPU;
import static dev.lguest.cpu.interpreter.BlockTranslator.CD_RUNTIME;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_void;

import java.lang.constant.MethodTypeDesc;

final class BitOffsetForms {
    private BitOffsetForms() {
    }

    static void register() {
        for (int opcode : new int[] {0x1a3, 0x1ab, 0x1b3, 0x1bb}) {
            int action = (opcode >>> 3) & 3;
            BlockTranslator.addForm(opcode, in -> in.mod != 3, 0, false, (e, in) -> bitTest(e, in, action));
        }
    }

    private static void bitTest(Emitter e, Instruction in, int action) {
        int size = in.operandSize();
        // The word's offset: the effective address plus the signed offset's whole words.
        e.effectiveAddress(in);
        e.loadReg(in.reg);
        if (size == 2) {
            e.code.i2s();
        }
        e.code.loadConstant(size == 4 ? 5 : 4).ishr().loadConstant(size == 4 ? 2 : 1).ishl().iadd();
        if (!in.address32) {
            e.code.loadConstant(0xffff).iand();
        }
        e.code.istore(Emitter.SCRATCH3);
        e.loadReg(in.reg);
        e.code.loadConstant(size * 8 - 1).iand().istore(Emitter.SCRATCH2);
        if (action == 0) {
            e.code.aload(Emitter.CPU).loadConstant(in.segment()).iload(Emitter.SCRATCH3);
            e.mayFault();
            e.invokeAccess(size == 4 ? "read32" : "read16",
                    MethodTypeDesc.of(CD_int, CD_CPU, CD_int, CD_int));
            e.code.istore(Emitter.SCRATCH);
            e.closeFaultRange();
            MiscellaneousForms.carryFromBit(e);
            e.commitFlags();
            return;
        }
        e.code.aload(Emitter.CPU).loadConstant(in.segment()).iload(Emitter.SCRATCH3).loadConstant(size);
        e.mayFault();
        e.code.invokestatic(CD_RUNTIME, "linearForUpdate", MethodTypeDesc.of(CD_int, CD_CPU, CD_int, CD_int, CD_int));
        e.code.istore(Emitter.UPDATE_LINEAR);
        e.code.aload(Emitter.CPU).iload(Emitter.UPDATE_LINEAR).loadConstant(size);
        e.invokeAccess("readForUpdate", MethodTypeDesc.of(CD_int, CD_CPU, CD_int, CD_int));
        e.code.istore(Emitter.SCRATCH);
        e.code.aload(Emitter.CPU).iload(Emitter.UPDATE_LINEAR);
        e.code.iload(Emitter.SCRATCH);
        MiscellaneousForms.modifyBit(e, action, size);
        e.code.loadConstant(size);
        e.invokeAccess("writeBack", MethodTypeDesc.of(CD_void, CD_CPU, CD_int, CD_int, CD_int));
        e.closeFaultRange();
        MiscellaneousForms.carryFromBit(e);
        e.commitFlags();
        e.exitIfBlockEnded(in);
    }
}
