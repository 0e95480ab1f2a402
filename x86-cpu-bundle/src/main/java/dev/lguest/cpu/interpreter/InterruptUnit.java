// Interrupts, exceptions and the far control transfers that change CS: delivery through
// the IDT (with the stack switch through the TSS when entering a more privileged
// ring), IRET, and far JMP/CALL/RET. Before anything goes through the IDT the host's
// routing bitmap is consulted: a host vector stops the CPU without touching the guest.
// Every check and every stack write happens before registers are committed, so a fault
// in the middle leaves the state of the instruction boundary. What a delivery and an
// IRET work out from the descriptor tables is remembered for the next one with the
// same inputs (TransferMemo): a system call's way in and out, every time the same.
package dev.lguest.cpu.interpreter;

import static dev.lguest.api.cpu.X86.ESP;

import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.X86;

final class InterruptUnit {
    private static final int BENIGN = 0, CONTRIBUTORY = 1, PAGE_FAULT = 2;
    private static final int GATE_TASK = 5, GATE_INTERRUPT32 = 0xe, GATE_TRAP32 = 0xf;

    private final InterpreterCpu cpu;
    /** The answers of the last delivery and the last IRET, for the next ones with the same inputs. */
    final TransferMemo memo;

    InterruptUnit(InterpreterCpu cpu) {
        this.cpu = cpu;
        this.memo = new TransferMemo(cpu);
    }

    private static int classify(int vector) {
        if (vector == X86.PF_VECTOR) {
            return PAGE_FAULT;
        }
        return vector == X86.DE || (vector >= X86.TS_VECTOR && vector <= X86.GP) ? CONTRIBUTORY : BENIGN;
    }

    private boolean isHostVector(int vector) {
        return (cpu.hostVectors[vector >>> 6] & (1L << vector)) != 0;
    }

    /**
     * Set whenever an event goes through the IDT or to the host; the single-step logic
     * clears it before an instruction to learn whether that instruction entered a handler.
     */
    boolean entered;

    /** A fault raised by the instruction at cpu.eip, which stays the EIP to report. */
    void raiseFault(int vector, int errorCode) {
        raise(vector, errorCode, X86.hasErrorCode(vector), cpu.eip, false, true);
    }

    /**
     * INT1 (ICEBP, opcode F1): #DB as a trap after it, without the gate's DPL check
     * that INT n makes. Like INT n it enters the handler with TF clear.
     */
    void debugInterrupt(int nextEip) {
        cpu.retired++;
        raise(X86.DB, 0, false, nextEip, true, false);
    }

    /** A trap after the instruction that ended at cpu.eip (the single-step #DB). */
    void raiseTrap(int vector) {
        raise(vector, 0, X86.hasErrorCode(vector), cpu.eip, false, false);
    }

    /**
     * INT n, INT3, INTO. The gate's DPL is checked against the CPL before the host
     * routing, as a real CPU reads the gate before it could ever enter the host's
     * handler; a failed check is a #GP fault on the INT instruction.
     */
    void softwareInterrupt(int vector, int nextEip) {
        // A system call's INT asks the memo once: its answer serves the DPL check here
        // and the delivery in raise (nothing between the two can change it).
        boolean known = memo.knowsEntry(vector);
        int gateDpl = known ? memo.gateDpl : (int) (readGate(vector, false) >>> 45) & 3;
        if (gateDpl < cpu.cpl) {
            throw CpuFault.generalProtection(vector * 8 + 2);
        }
        cpu.retired++;
        raise(vector, 0, false, nextEip, true, false, known);
    }

    /**
     * Delivers an event through the IDT or stops for the host. A fault-class event
     * pushes EFLAGS with RF set (the Intel manual's rule, so that the restarted
     * instruction does not hit its instruction breakpoint again); for the host, RF is
     * set in the state it will push and return to. Traps and INT n push RF as it is.
     */
    private void raise(int vector, int errorCode, boolean pushError, int returnEip, boolean software,
                       boolean fault) {
        raise(vector, errorCode, pushError, returnEip, software, fault, false);
    }

    /** raise(), told by a caller that already asked TransferMemo that it knows the vector's entry. */
    private void raise(int vector, int errorCode, boolean pushError, int returnEip, boolean software,
                       boolean fault, boolean entryKnown) {
        boolean external = !software;
        entered = true;
        while (true) {
            if (isHostVector(vector)) {
                if (fault) {
                    cpu.eflags |= X86.RF;
                }
                cpu.eip = returnEip;
                cpu.requestExit(ExitReason.VECTOR, vector, pushError ? errorCode : 0);
                return;
            }
            try {
                if (entryKnown) {
                    deliverKnown(errorCode, pushError, returnEip, fault);
                } else {
                    deliver(vector, errorCode, pushError, returnEip, external, fault);
                }
                return;
            } catch (CpuFault second) {
                entryKnown = false; // the second event asks the memo itself (deliver)
                if (second.vector == X86.PF_VECTOR) {
                    cpu.cr2 = second.address;
                }
                if (software) {
                    cpu.retired--; // the INT did not complete: it faults instead
                }
                if (vector == X86.DF_VECTOR) {
                    cpu.requestExit(ExitReason.SHUTDOWN, X86.DF_VECTOR, 0);
                    return;
                }
                int first = software ? BENIGN : classify(vector);
                int next = classify(second.vector);
                if ((first == CONTRIBUTORY && next == CONTRIBUTORY) || (first == PAGE_FAULT && next != BENIGN)) {
                    vector = X86.DF_VECTOR;
                    errorCode = 0;
                    pushError = true;
                } else {
                    // A benign first event: the second fault is delivered on its own,
                    // and the instruction restarts once the handler returns.
                    vector = second.vector;
                    errorCode = second.errorCode;
                    pushError = X86.hasErrorCode(vector);
                }
                returnEip = cpu.eip;
                software = false;
                external = true;
                fault = true;
            }
        }
    }

    /** The 8-byte IDT gate of a vector (low word in bits 0-31). */
    private long readGate(int vector, boolean external) {
        int ext = external ? 1 : 0;
        if (vector * 8L + 7 > (cpu.idtLimit & 0xffffL)) {
            throw CpuFault.generalProtection(vector * 8 + 2 + ext);
        }
        return cpu.memory.readTable(cpu.idtBase + vector * 8);
    }

    private void deliver(int vector, int errorCode, boolean pushError, int returnEip, boolean external,
                         boolean fault) {
        if (memo.knowsEntry(vector)) {
            deliverKnown(errorCode, pushError, returnEip, fault);
            return;
        }
        int epoch = memo.epoch();
        int oldCpl = cpu.cpl;
        int ext = external ? 1 : 0;
        long gate = readGate(vector, external);
        int gateHigh = (int) (gate >>> 32);
        int gateType = (gateHigh >>> 8) & 0x1f;
        if (gateType != GATE_INTERRUPT32 && gateType != GATE_TRAP32) {
            // Task gates and 16-bit gates are not part of this CPU.
            throw CpuFault.generalProtection(vector * 8 + 2 + ext);
        }
        if ((gateHigh & 0x8000) == 0) {
            throw CpuFault.notPresent(vector * 8 + 2 + ext);
        }
        int selector = (int) (gate >>> 16) & 0xffff;
        int offset = ((int) gate & 0xffff) | (gateHigh & 0xffff0000);
        if ((selector & 0xfffc) == 0) {
            throw CpuFault.generalProtection(ext);
        }
        long descriptor = cpu.segments.readDescriptor(selector, X86.GP);
        SegmentCache code = cpu.segments.decoded(selector, descriptor);
        if (!code.isCode() || code.dpl() > cpu.cpl) {
            throw CpuFault.generalProtection((selector & 0xfffc) + ext);
        }
        if (!code.present()) {
            throw CpuFault.notPresent((selector & 0xfffc) + ext);
        }
        boolean conforming = (code.type() & 4) != 0;
        int newCpl = conforming ? cpu.cpl : code.dpl();
        int oldEflags = cpu.eflags() | (fault ? X86.RF : 0);
        int oldCs = cpu.segments.cache[Segments.CS].selector();
        Segments.StackSegment newStack = null;
        int esp;
        int newEsp = 0;
        boolean allCached = TransferMemo.cached(cpu.idtBase + vector * 8)
                && TransferMemo.cached(cpu.segments.descriptorAddress(selector, X86.GP));
        if (newCpl < cpu.cpl) {
            // Inner ring: the new stack comes from the TSS, the old SS:ESP goes on it.
            SegmentCache tss = cpu.tr;
            int entry = 4 + newCpl * 8;
            if ((tss.selector() & 0xfffc) == 0 || entry + 5L > (tss.limit() & 0xffffffffL)) {
                throw CpuFault.of(X86.TS_VECTOR, (tss.selector() & 0xfffc) + ext);
            }
            int stackAddress = tss.base() + entry;
            int newSs;
            if ((stackAddress & 0xfff) <= 0xff8) {
                // ESP and SS and the two bytes after them, all in one page: one cached read.
                long stack = cpu.memory.readTable(stackAddress);
                newEsp = (int) stack;
                newSs = (int) (stack >>> 32) & 0xffff;
            } else {
                newEsp = cpu.memory.read32(stackAddress, LinearMemory.READ);
                newSs = cpu.memory.read16(stackAddress + 4, LinearMemory.READ);
            }
            newStack = cpu.segments.checkStack(newSs, newCpl, X86.TS_VECTOR);
            allCached &= TransferMemo.cached(stackAddress)
                    && TransferMemo.cached(cpu.segments.descriptorAddress(newSs, X86.TS_VECTOR));
            SegmentCache ss = newStack.cache();
            esp = pushFrameWord(ss, newEsp, cpu.segments.cache[Segments.SS].selector());
            esp = pushFrameWord(ss, esp, cpu.gpr[ESP]);
            esp = pushFrame(ss, esp, oldEflags, oldCs, returnEip, pushError, errorCode);
        } else {
            esp = pushFrame(cpu.segments.cache[Segments.SS], cpu.gpr[ESP], oldEflags, oldCs, returnEip, pushError,
                    errorCode);
        }
        if ((offset & 0xffffffffL) > (code.limit() & 0xffffffffL)) {
            throw CpuFault.generalProtection(ext);
        }
        // Everything is checked and written: commit.
        SegmentCache accessedCode = cpu.segments.markAccessed(code, descriptor);
        SegmentCache accessedStack = null;
        if (newStack != null) {
            accessedStack = cpu.segments.markAccessed(newStack.cache(), newStack.descriptor());
            cpu.segments.set(Segments.SS, accessedStack);
        }
        SegmentCache handlerCode = withSelector(accessedCode, (selector & 0xfffc) | newCpl);
        enterHandler(esp, handlerCode, offset, gateType);
        memo.rememberEntry(epoch, vector, oldCpl, allCached, (gateHigh >>> 13) & 3, gateType, offset, handlerCode,
                newEsp, accessedStack);
    }

    /**
     * deliver() with the gate's, the handler's and the inner stack's answers remembered
     * (TransferMemo): the same pushes, in the same order, and the same commit.
     */
    private void deliverKnown(int errorCode, boolean pushError, int returnEip, boolean fault) {
        SegmentCache stack = memo.innerStack;
        SegmentCache handlerCode = memo.handlerCode;
        int handlerEip = memo.handlerEip;
        int innerEsp = memo.innerEsp;
        int gateType = memo.gateType;
        int oldEflags = cpu.eflags() | (fault ? X86.RF : 0);
        int oldCs = cpu.segments.cache[Segments.CS].selector();
        int esp;
        if (stack != null) {
            esp = pushFrameWord(stack, innerEsp, cpu.segments.cache[Segments.SS].selector());
            esp = pushFrameWord(stack, esp, cpu.gpr[ESP]);
            esp = pushFrame(stack, esp, oldEflags, oldCs, returnEip, pushError, errorCode);
            cpu.segments.set(Segments.SS, stack);
        } else {
            esp = pushFrame(cpu.segments.cache[Segments.SS], cpu.gpr[ESP], oldEflags, oldCs, returnEip, pushError,
                    errorCode);
        }
        enterHandler(esp, handlerCode, handlerEip, gateType);
    }

    /**
     * The commit of a delivery, once the frame is pushed: the new stack pointer, the
     * handler's CS and EIP, and the flags a gate clears (an interrupt gate IF too).
     */
    private void enterHandler(int esp, SegmentCache handlerCode, int handlerEip, int gateType) {
        cpu.gpr[ESP] = esp;
        cpu.setCodeSegment(handlerCode);
        cpu.eip = handlerEip;
        cpu.eflags &= ~(X86.TF | X86.NT | X86.RF | X86.VM);
        if (gateType == GATE_INTERRUPT32) {
            cpu.eflags &= ~X86.IF;
        }
    }

    private static SegmentCache withSelector(SegmentCache c, int selector) {
        if (c.selector() == selector) {
            return c;
        }
        return new SegmentCache(selector, c.base(), c.limit(), c.attributes());
    }

    /** Pushes EFLAGS, CS, EIP and the error code if there is one (pushFrameWord); returns the new ESP. */
    private int pushFrame(SegmentCache ss, int esp, int eflags, int cs, int eip, boolean pushError, int errorCode) {
        esp = pushFrameWord(ss, esp, eflags);
        esp = pushFrameWord(ss, esp, cs);
        esp = pushFrameWord(ss, esp, eip);
        return pushError ? pushFrameWord(ss, esp, errorCode) : esp;
    }

    /**
     * Pushes a 32-bit value on a stack described by {@code ss}, with supervisor rights
     * since the CPU writes the frame for itself. Returns the new ESP; the registers are
     * not touched.
     */
    private int pushFrameWord(SegmentCache ss, int esp, int value) {
        boolean big = ss.big();
        esp = big ? esp - 4 : (esp & 0xffff0000) | ((esp - 4) & 0xffff);
        int offset = big ? esp : esp & 0xffff;
        checkStackAccess(ss, offset, 4);
        cpu.memory.write32(ss.base() + offset, value, LinearMemory.READ);
        return esp;
    }

    private static void checkStackAccess(SegmentCache ss, int offset, int size) {
        long first = offset & 0xffffffffL;
        long limit = ss.limit() & 0xffffffffL;
        boolean expandDown = (ss.type() & 4) != 0;
        boolean ok = expandDown ? first > limit && first + size - 1 <= (ss.big() ? 0xffffffffL : 0xffffL)
                : first + size - 1 <= limit;
        if (!ok) {
            throw CpuFault.stackFault(0);
        }
    }

    // ---- IRET ----

    void interruptReturn(int size, int next) {
        if ((cpu.eflags & X86.NT) != 0) {
            throw CpuFault.generalProtection(0); // task return: no tasks here
        }
        int epoch = memo.epoch();
        int newEip = cpu.peek(0, size);
        int newCsSelector = cpu.peek(size, size) & 0xffff;
        int newEflags = cpu.peek(2 * size, size);
        if (size == 2) {
            newEflags = (cpu.eflags & 0xffff0000) | (newEflags & 0xffff);
        }
        int returnCpl = newCsSelector & 3;
        // The checks on CS and SS are skipped when TransferMemo remembers their answer.
        SegmentCache knownCode = memo.returnsValid() ? memo.knownReturnCode(newCsSelector) : null;
        SegmentCache code = knownCode != null ? knownCode : checkReturnCode(newCsSelector);
        long codeDescriptor = lastCodeDescriptor;
        int newEsp;
        Segments.StackSegment outerStack = null;
        SegmentCache knownStack = null;
        int outerSs = -1;
        if (returnCpl > cpu.cpl) {
            int outerEsp = cpu.peek(3 * size, size);
            outerSs = cpu.peek(4 * size, size) & 0xffff;
            knownStack = knownCode != null && memo.returnsValid() ? memo.knownReturnStack(outerSs) : null;
            if (knownStack == null) {
                outerStack = cpu.segments.checkStack(outerSs, returnCpl, X86.GP);
            }
            newEsp = size == 2 ? (cpu.gpr[ESP] & 0xffff0000) | (outerEsp & 0xffff) : outerEsp;
        } else {
            newEsp = cpu.stackPointerPlus(cpu.gpr[ESP], 3 * size);
        }
        if (size == 2) {
            newEip &= 0xffff;
        }
        if ((newEip & 0xffffffffL) > (code.limit() & 0xffffffffL)) {
            throw CpuFault.generalProtection(0);
        }
        int oldCpl = cpu.cpl;
        // A remembered cache is already the accessed one (its descriptor had the bit set).
        SegmentCache accessed = knownCode != null ? knownCode : cpu.segments.markAccessed(code, codeDescriptor);
        cpu.setEflags(mergeFlags(newEflags, oldCpl, size, true));
        cpu.setCodeSegment(accessed);
        SegmentCache accessedStack = knownStack;
        if (outerSs >= 0) {
            if (knownStack == null) {
                accessedStack = cpu.segments.markAccessed(outerStack.cache(), outerStack.descriptor());
            }
            cpu.segments.set(Segments.SS, accessedStack);
            cpu.segments.nullifyForOuterLevel(returnCpl);
        }
        cpu.gpr[ESP] = newEsp;
        cpu.eip = newEip;
        if (knownCode == null || (outerSs >= 0 && knownStack == null)) {
            boolean allCached = TransferMemo.cached(cpu.segments.descriptorAddress(newCsSelector, X86.GP))
                    && (outerSs < 0 || TransferMemo.cached(cpu.segments.descriptorAddress(outerSs, X86.GP)));
            memo.rememberReturn(epoch, oldCpl, allCached, newCsSelector, accessed, outerSs, accessedStack);
        }
    }

    /**
     * The flags a POPF or IRET may change at a given CPL: IOPL only at CPL 0, IF only
     * when CPL <= IOPL; RF only by a 32-bit IRET (POPF leaves it clear, as every
     * instruction does once it starts); VM is never set from the stack in this CPU.
     */
    int mergeFlags(int popped, int privilege, int size, boolean interruptReturn) {
        int changeable = X86.CF | X86.PF | X86.AF | X86.ZF | X86.SF | X86.TF | X86.DF | X86.OF | X86.NT | X86.AC
                | X86.ID | (interruptReturn ? X86.RF : 0);
        int iopl = (cpu.eflags >>> 12) & 3;
        if (privilege == 0) {
            changeable |= X86.IOPL;
        }
        if (privilege <= iopl) {
            changeable |= X86.IF;
        }
        if (size == 2) {
            changeable &= 0xffff;
        }
        return (cpu.eflags() & ~changeable) | (popped & changeable) | X86.EFLAGS_FIXED;
    }

    private long lastCodeDescriptor;

    /** The checks on a CS popped by IRET or RET far: never to a more privileged ring. */
    private SegmentCache checkReturnCode(int selector) {
        if ((selector & 0xfffc) == 0) {
            throw CpuFault.generalProtection(0);
        }
        int rpl = selector & 3;
        if (rpl < cpu.cpl) {
            throw CpuFault.generalProtection(selector & 0xfffc);
        }
        long descriptor = cpu.segments.readDescriptor(selector, X86.GP);
        SegmentCache code = cpu.segments.decoded(selector, descriptor);
        if (!code.isCode()) {
            throw CpuFault.generalProtection(selector & 0xfffc);
        }
        boolean conforming = (code.type() & 4) != 0;
        if (conforming ? code.dpl() > rpl : code.dpl() != rpl) {
            throw CpuFault.generalProtection(selector & 0xfffc);
        }
        if (!code.present()) {
            throw CpuFault.notPresent(selector & 0xfffc);
        }
        lastCodeDescriptor = descriptor;
        return code;
    }

    // ---- far JMP, CALL and RET ----

    /** The checks on the target of a far JMP or CALL to a code segment (no gates). */
    private SegmentCache checkFarTarget(int selector, int offset) {
        selector &= 0xffff;
        if ((selector & 0xfffc) == 0) {
            throw CpuFault.generalProtection(0);
        }
        long descriptor = cpu.segments.readDescriptor(selector, X86.GP);
        SegmentCache code = cpu.segments.decoded(selector, descriptor);
        if (!code.isCode()) {
            // Call gates, task gates and TSS targets are not part of this CPU.
            throw CpuFault.generalProtection(selector & 0xfffc);
        }
        boolean conforming = (code.type() & 4) != 0;
        boolean allowed = conforming ? code.dpl() <= cpu.cpl
                : (selector & 3) <= cpu.cpl && code.dpl() == cpu.cpl;
        if (!allowed) {
            throw CpuFault.generalProtection(selector & 0xfffc);
        }
        if (!code.present()) {
            throw CpuFault.notPresent(selector & 0xfffc);
        }
        if ((offset & 0xffffffffL) > (code.limit() & 0xffffffffL)) {
            throw CpuFault.generalProtection(0);
        }
        SegmentCache accessed = cpu.segments.markAccessed(code, descriptor);
        // The CPL does not change: the RPL of the new CS is the current CPL.
        return withSelector(accessed, (selector & 0xfffc) | cpu.cpl);
    }

    void farJump(int selector, int offset) {
        SegmentCache code = checkFarTarget(selector, offset);
        cpu.setCodeSegment(code);
        cpu.eip = offset;
    }

    void farCall(int selector, int offset, int size, int returnEip) {
        // The target is checked before anything is pushed: a call to a bad selector
        // faults with the stack untouched, as on the real CPU.
        SegmentCache code = checkFarTarget(selector, offset);
        int oldCs = cpu.segments.cache[Segments.CS].selector();
        int esp = cpu.pushAt(cpu.gpr[ESP], oldCs, size);
        esp = cpu.pushAt(esp, returnEip, size);
        cpu.setCodeSegment(code);
        cpu.gpr[ESP] = esp;
        cpu.eip = offset;
    }

    void farReturn(int size, int release) {
        int newEip = cpu.peek(0, size);
        int newCsSelector = cpu.peek(size, size) & 0xffff;
        if (size == 2) {
            newEip &= 0xffff;
        }
        SegmentCache code = checkReturnCode(newCsSelector);
        long codeDescriptor = lastCodeDescriptor;
        int returnCpl = newCsSelector & 3;
        Segments.StackSegment outerStack = null;
        int newEsp;
        if (returnCpl > cpu.cpl) {
            int outerEsp = cpu.peek(2 * size + release, size);
            int outerSs = cpu.peek(3 * size + release, size) & 0xffff;
            outerStack = cpu.segments.checkStack(outerSs, returnCpl, X86.GP);
            newEsp = (size == 2 ? (cpu.gpr[ESP] & 0xffff0000) | (outerEsp & 0xffff) : outerEsp) + release;
        } else {
            newEsp = cpu.stackPointerPlus(cpu.gpr[ESP], 2 * size + release);
        }
        if ((newEip & 0xffffffffL) > (code.limit() & 0xffffffffL)) {
            throw CpuFault.generalProtection(0);
        }
        cpu.setCodeSegment(cpu.segments.markAccessed(code, codeDescriptor));
        if (outerStack != null) {
            cpu.segments.set(Segments.SS, cpu.segments.markAccessed(outerStack.cache(), outerStack.descriptor()));
            cpu.segments.nullifyForOuterLevel(returnCpl);
        }
        cpu.gpr[ESP] = newEsp;
        cpu.eip = newEip;
    }
}
