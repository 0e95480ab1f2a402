// What the last event delivery through the IDT and the last IRET worked out from the
// descriptor tables, kept so that the next one with the same inputs skips the work.
// A system call is an INT 0x80 into the kernel and an IRET back, and each reads and
// checks the same entries every time: the gate, the handler's CS, the TSS's inner
// stack and its SS on the way in, the popped CS and SS on the way out. In the Linux
// benchmark's syscalls program, once compiled, INT and IRET took about 7% of the guest
// thread's time (perf), mostly on answers that had not changed since the last call.
//
// Why a remembered answer is exact: the answer of those checks is a function of the
// table bytes read (the gate, the descriptors, the TSS's ESP and SS), the registers
// that say where the tables are (IDTR, GDTR, LDTR, TR), the CPL and the selectors or
// the vector. The bytes: TableCache's epoch stays the same only while every 8-byte
// read of a protected frame within one page answers what it answered before (a CPU
// store into such a frame walks, and a walk, a flush, an INVLPG, a run or a loaded
// state starts a new epoch), so an answer is remembered only when all its reads were
// such reads (none crossing a page, no data breakpoint armed, which must see every
// read) and the epoch did not move from the first read to the commit (which also
// leaves out a commit that had to set an accessed bit: that store moves the epoch).
// The registers, the CPL and the selectors are compared. A remembered answer passed
// every check, so what is skipped cannot fault; the stack reads and pushes, the
// limit checks on the new EIP and ESP, and everything after are done each time.
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.SegmentCache;

final class TransferMemo {
    private final InterpreterCpu cpu;

    TransferMemo(InterpreterCpu cpu) {
        this.cpu = cpu;
    }

    /** Whether the descriptor tables could be read now as remembered answers assume: no data breakpoint armed. */
    private boolean tablesCacheable() {
        return !cpu.memory.watching();
    }

    /** The TableCache epoch now; 0 (never current) while data breakpoints make every read count. */
    int epoch() {
        return tablesCacheable() ? cpu.memory.tables.epoch() : 0;
    }

    /** Whether an 8-byte table entry at this linear address was read through TableCache (within one page). */
    static boolean cached(int linear) {
        return (linear & 0xfff) <= 0xff8;
    }

    /**
     * Whether an answer whose first read was made in {@code epoch} may be remembered:
     * every read went through TableCache and the epoch has not moved since.
     */
    private boolean rememberable(int epoch, boolean allCached) {
        return epoch != 0 && allCached && epoch == epoch();
    }

    // ---- delivery through a gate ----

    private int entryEpoch, entryVector, entryCpl, entryIdtBase, entryIdtLimit, entryGdtBase, entryGdtLimit;
    private SegmentCache entryLdtr, entryTr;
    /** The answer: the gate's DPL and type, the handler's EIP and CS (accessed, with the new CPL). */
    int gateDpl, gateType, handlerEip;
    SegmentCache handlerCode;
    /** For an entry into an inner ring, the TSS's ESP and the new SS (accessed); else null. */
    int innerEsp;
    SegmentCache innerStack;

    /** Whether an answer for this vector at the current CPL, tables and epoch is remembered. */
    boolean knowsEntry(int vector) {
        int epoch = cpu.memory.tables.epoch();
        return entryEpoch == epoch && entryVector == vector && entryCpl == cpu.cpl && tablesCacheable()
                && entryIdtBase == cpu.idtBase && entryIdtLimit == cpu.idtLimit && entryGdtBase == cpu.gdtBase
                && entryGdtLimit == cpu.gdtLimit && entryLdtr == cpu.ldtr && entryTr == cpu.tr;
    }

    /**
     * Remembers a delivery's answer, given the epoch its first read was made in and the
     * CPL it was made at; nothing when the epoch moved since or a read was not cached.
     */
    void rememberEntry(int epoch, int vector, int cpl, boolean allCached, int dpl, int type, int eip,
                       SegmentCache code, int esp, SegmentCache stack) {
        if (!rememberable(epoch, allCached)) {
            entryEpoch = 0;
            return;
        }
        entryEpoch = epoch;
        entryVector = vector;
        entryCpl = cpl;
        entryIdtBase = cpu.idtBase;
        entryIdtLimit = cpu.idtLimit;
        entryGdtBase = cpu.gdtBase;
        entryGdtLimit = cpu.gdtLimit;
        entryLdtr = cpu.ldtr;
        entryTr = cpu.tr;
        gateDpl = dpl;
        gateType = type;
        handlerEip = eip;
        handlerCode = code;
        innerEsp = esp;
        innerStack = stack;
    }

    // ---- IRET ----

    private int returnEpoch, returnCpl, returnGdtBase, returnGdtLimit, returnCsSelector, returnSsSelector;
    private SegmentCache returnLdtr;
    /** The answer: the popped CS (accessed) and, for a return to an outer ring, the popped SS (accessed). */
    SegmentCache returnCode, returnStack;

    /** Whether answers made at the current CPL, tables and epoch are remembered (before the selectors are compared). */
    boolean returnsValid() {
        return returnEpoch == cpu.memory.tables.epoch() && returnCpl == cpu.cpl && tablesCacheable()
                && returnGdtBase == cpu.gdtBase && returnGdtLimit == cpu.gdtLimit && returnLdtr == cpu.ldtr;
    }

    /** The remembered CS for this popped selector, or null (only after returnsValid()). */
    SegmentCache knownReturnCode(int selector) {
        return returnCsSelector == selector ? returnCode : null;
    }

    /** The remembered SS for this popped selector, or null (only after returnsValid() and a known CS). */
    SegmentCache knownReturnStack(int selector) {
        return returnSsSelector == selector ? returnStack : null;
    }

    /** Remembers an IRET's answer (stack null and SS selector -1 for a return to the same ring); as rememberEntry. */
    void rememberReturn(int epoch, int cpl, boolean allCached, int csSelector, SegmentCache code, int ssSelector,
                        SegmentCache stack) {
        if (!rememberable(epoch, allCached)) {
            returnEpoch = 0;
            return;
        }
        returnEpoch = epoch;
        returnCpl = cpl;
        returnGdtBase = cpu.gdtBase;
        returnGdtLimit = cpu.gdtLimit;
        returnLdtr = cpu.ldtr;
        returnCsSelector = csSelector;
        returnCode = code;
        returnSsSelector = ssSelector;
        returnStack = stack;
    }
}
