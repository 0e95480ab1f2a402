// The interpreting i686: the architectural registers and the run loop. Every
// instruction commits EIP and its registers only after everything that can fault has
// happened, so a fault leaves the state as it was at the instruction boundary and the
// instruction can be restarted. Faults come back as CpuFault and are handed to the
// InterruptUnit, which either stops the CPU for the host or delivers them through the IDT.
//
// Design note: how the loop avoids decoding.
//  - What is cached: decoded Blocks (CodeCache), straight runs of instructions inside
//    one physical page, through untaken conditional branches (a taken one leaves), keyed by PHYSICAL frame and offset and by the CS default size.
//    Each instruction also carries a handler number (Executor.classify) that sends the
//    commonest forms to specialised code, so the executor switches on small ints.
//  - How a block is found: EIP is checked against the CS limit and translated through
//    the TLB with fetch rights on every block entry, so the page tables in force decide
//    which physical code runs (INVLPG and CR3 loads need not touch the code cache).
//    A block remembers up to two successors; a link is valid for one "link
//    generation" and leads only to a block already checked in the current epoch (see
//    CodeCache). Each recently used code segment (CS cache: selector and so CPL, base,
//    limit, size) has its own generation (LinkContexts), so a system call's INT and
//    IRET switch between the kernel's and the process's links instead of forgetting
//    both; a TLB flush or dropped code renews every context's generation, and so does
//    an INVLPG of a page a link may lead into (LinkedPages), but not of any other page.
//  - How it is invalidated: frames holding blocks are never cached for writing in the
//    TLB, so every CPU store into them is seen and drops the page's blocks if it touches
//    decoded bytes (paravirt patching, module loading, page reuse). Writes from outside
//    the CPU (Launcher, devices) are caught by re-checking a block's bytes against RAM
//    the first time it runs in each run() call, or, when the host names the frames it
//    wrote (frameWritten, run(budget, true)), by dropping those frames' blocks.
//  - Budget and interrupt(): checked per block; a block runs at most the instructions
//    left. A run of fast forms commits EIP and the retired count once, when it ends or
//    faults (Executor.runBlock), so counts and fault EIPs stay exact.
//  - Single-stepping (TF) and the resume flag (RF): looked at once per block entry;
//    while TF is set each instruction is decoded and run alone, followed by its #DB
//    trap (stepAlone), and RF sends the one instruction that clears it the same way.
//    A POPF that sets TF ends its block so the next instruction is already traced.
//  - Breakpoints in the debug registers: while DR7 enables any, every instruction
//    runs alone too (one flag test per block entry otherwise): an instruction
//    breakpoint is checked before it starts, data breakpoints (LinearMemory's watched
//    pages) after it ends, each raising #DB with its DR6 bits as an i686 does.
//  - Flags: the commonest 32-bit ALU forms leave their status flags pending (Alu), and
//    a block's closing flag-setting form and Jcc run as one step.
//  Code outside guest RAM, instructions crossing a page and blocks reaching past the
//  CS limit are decoded one at a time the old way (Executor.step).
package dev.lguest.cpu.interpreter;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.memory.PhysicalMemory;
import java.lang.foreign.MemorySegment;

class InterpreterCpu implements X86Cpu, Decoder.CodeSource {
    final int[] gpr = new int[8];
    int eip;
    /**
     * EFLAGS, except that its six status flags may be pending in the Alu (lazy flags):
     * read the whole register through eflags() and replace it through setEflags().
     * Bits other than the status flags (IF, DF, IOPL, NT, ...) may be used directly.
     */
    int eflags = X86.EFLAGS_FIXED;
    /** The current privilege level, kept equal to the RPL of CS. */
    int cpl;
    /** LinearMemory.USER at CPL 3, else supervisor: the rights of ordinary accesses. */
    int accessKind;
    SegmentCache ldtr = SegmentCache.NULL;
    SegmentCache tr = SegmentCache.NULL;
    int gdtBase, gdtLimit, idtBase, idtLimit;
    int cr0 = X86.CR0_PE | X86.CR0_ET, cr2, cr3, cr4;
    /**
     * Debug registers DR0-DR7 (4 and 5 unused). Change them through
     * debugRegistersChanged(): instruction and data breakpoints trigger as DR7 says,
     * and the single-step trap (TF) sets DR6.BS.
     */
    final int[] debugRegisters = new int[8];
    static final int DR6_SINGLE_STEP = X86.DR6_BS;
    /** DR7 enables at least one breakpoint: instructions run one at a time and are checked. */
    boolean breakpointsArmed;
    /** TSC = tscBase + retired, so it advances with every retired instruction. */
    long tscBase;
    /** Instructions retired since this CPU was made. */
    long retired;
    final byte[] fpu = new byte[CpuState.FPU_IMAGE_SIZE];
    final long[] hostVectors = new long[4];

    final LinearMemory memory;
    final Segments segments = new Segments(this);
    final Alu alu = new Alu(this);
    private final Decoder decoder = new Decoder(this);
    private final Instruction instruction = new Instruction();
    final CodeCache codeCache;
    /** Set when the block being run must stop after the current instruction. */
    boolean blockEnded;
    /** The current code segment's link generation: links made under another are not followed. */
    int linkGeneration;
    private final LinkContexts linkContexts = new LinkContexts();
    /** The linear pages links may lead into: an INVLPG of another page keeps them. */
    private final LinkedPages linkedPages = new LinkedPages();
    final InterruptUnit interrupts = new InterruptUnit(this);
    final Executor executor;

    /** How many interpreter bugs were turned into shutdowns (tests expect none). */
    long internalErrors;

    /** Set by interrupt() from any thread, consumed at an instruction boundary. */
    volatile boolean interruptRequested;

    /** An exit an instruction asked for (host vector, shutdown), taken after it finishes. */
    ExitReason pendingExit;
    int pendingVector, pendingErrorCode;

    /** The page instructions are currently fetched from, to skip the TLB within a page. */
    private int fetchPageNumber = -1;
    private MemorySegment fetchPage;

    InterpreterCpu(PhysicalMemory bus) {
        this.memory = new LinearMemory(bus);
        this.codeCache = new CodeCache(this, memory, bus);
        memory.codeCache = codeCache;
        this.executor = new Executor(this, instruction);
        X87.initialize(fpu);
        loadState(new CpuState());
    }

    // ---- X86Cpu ----

    @Override
    public CpuState saveState() {
        CpuState s = new CpuState();
        System.arraycopy(gpr, 0, s.gpr, 0, 8);
        s.eip = eip;
        s.eflags = eflags();
        System.arraycopy(segments.cache, 0, s.segments, 0, 6);
        s.ldtr = ldtr;
        s.tr = tr;
        s.gdtBase = gdtBase;
        s.gdtLimit = gdtLimit;
        s.idtBase = idtBase;
        s.idtLimit = idtLimit;
        s.cr0 = cr0;
        s.cr2 = cr2;
        s.cr3 = cr3;
        s.cr4 = cr4;
        s.tsc = tscBase + retired;
        System.arraycopy(debugRegisters, 0, s.debugRegisters, 0, 8);
        executor.x87.storeImage();
        System.arraycopy(fpu, 0, s.fpu, 0, fpu.length);
        System.arraycopy(hostVectors, 0, s.hostVectors, 0, 4);
        return s;
    }

    @Override
    public void loadState(CpuState s) {
        loadStateBesidesPaging(s);
        cr3 = s.cr3;
        cr4 = s.cr4;
        System.arraycopy(s.debugRegisters, 0, debugRegisters, 0, 8);
        debugRegistersChanged();
        privilegeChanged();
        pagingChanged();
    }

    /**
     * The state without a TLB flush when nothing paging depends on differs: CR0 (TS
     * aside: the FPU instructions read it as they run), CR3, CR4 and the debug
     * registers. The CPL may change (a trap frame entering ring 1): the TLB keeps
     * supervisor and user translations apart, so it stays valid, and so do the block
     * links: the new CS's own (privilegeChanged), as after any CS load.
     */
    @Override
    public void loadStateKeepingTlb(CpuState s) {
        if (((s.cr0 ^ cr0) & ~X86.CR0_TS) != 0 || s.cr3 != cr3 || s.cr4 != cr4
                || !java.util.Arrays.equals(s.debugRegisters, debugRegisters)) {
            loadState(s);
            return;
        }
        loadStateBesidesPaging(s);
        privilegeChanged();
    }

    /** Everything of a CpuState but CR3, CR4 and the debug registers, with no change announced. */
    private void loadStateBesidesPaging(CpuState s) {
        memory.tables.changed();
        System.arraycopy(s.gpr, 0, gpr, 0, 8);
        eip = s.eip;
        setEflags((s.eflags | X86.EFLAGS_FIXED) & ~((1 << 3) | (1 << 5) | (1 << 15)));
        for (int i = 0; i < 6; i++) {
            segments.set(i, s.segments[i]);
        }
        ldtr = s.ldtr;
        tr = s.tr;
        gdtBase = s.gdtBase;
        gdtLimit = s.gdtLimit;
        idtBase = s.idtBase;
        idtLimit = s.idtLimit;
        cr0 = s.cr0;
        cr2 = s.cr2;
        tscBase = s.tsc - retired;
        System.arraycopy(s.fpu, 0, fpu, 0, fpu.length);
        executor.x87.imageLoaded();
        System.arraycopy(s.hostVectors, 0, hostVectors, 0, 4);
    }

    @Override
    public void frameWritten(int frame) {
        codeCache.writtenOutside(frame);
    }

    @Override
    public int cr0() {
        return cr0;
    }

    @Override
    public int cr2() {
        return cr2;
    }

    @Override
    public int cr3() {
        return cr3;
    }

    @Override
    public CpuExit run(long instructionBudget) {
        return run(instructionBudget, false);
    }

    /**
     * A run. Unless the host named every frame it wrote since the last run (and
     * frameWritten dropped their code), anything may have written RAM: a new epoch,
     * in which each cached block is re-checked against memory the first time it runs.
     * Block links survive from run to run: a link is followed only to a block checked
     * in the current epoch (Block.successor), and everything else that changes what a
     * link means (mappings, CS, dropped code) unlinks as it happens.
     */
    @Override
    public CpuExit run(long instructionBudget, boolean onlyNamedWrites) {
        long first = retired;
        pendingExit = null;
        // The host writes its descriptor tables between runs (lguest's switcher pages).
        memory.tables.changed();
        if (!onlyNamedWrites) {
            codeCache.epoch++;
        }
        Block previous = null;
        while (true) {
            if (interruptRequested) {
                interruptRequested = false;
                return new CpuExit(ExitReason.INTERRUPTED, 0, 0, retired - first);
            }
            long left = instructionBudget - (retired - first);
            if (left <= 0) {
                return new CpuExit(ExitReason.BUDGET, 0, 0, retired - first);
            }
            // Until an instruction runs, a bug is blamed on the boundary we are at.
            instruction.start = eip;
            executor.in = instruction;
            try {
                try {
                    if ((eflags & (X86.TF | X86.RF)) != 0 || breakpointsArmed) {
                        previous = null;
                        stepAlone();
                    } else {
                        Block block = previous == null ? null : previous.successor(eip, linkGeneration);
                        if (block == null) {
                            block = currentBlock(previous == null ? null : previous.linkedAt(eip));
                            if (block != null && previous != null) {
                                previous.link(eip, linkGeneration, block);
                            }
                        }
                        previous = block;
                        if (block != null) {
                            blockEnded = false;
                            previous = runBlock(block, left);
                        } else {
                            executor.step();
                        }
                    }
                } catch (CpuFault fault) {
                    if (fault.vector == X86.PF_VECTOR) {
                        cr2 = fault.address;
                    }
                    interrupts.raiseFault(fault.vector, fault.errorCode);
                }
            } catch (RuntimeException | StackOverflowError bug) {
                previous = null;
                // An interpreter bug must not escape into the host: stop as a shutdown
                // at the instruction that exposed it (every instruction before it
                // committed EIP, so the one being executed starts at its own start).
                eip = executor.in.start;
                internalErrors++;
                return new CpuExit(ExitReason.SHUTDOWN, 0, 0, retired - first);
            }
            if (pendingExit != null) {
                CpuExit exit = new CpuExit(pendingExit, pendingVector, pendingErrorCode, retired - first);
                pendingExit = null;
                return exit;
            }
        }
    }

    /**
     * One instruction decoded and run on its own, for what makes an instruction
     * boundary special. RF (set in the image a fault pushes, and by an IRET that pops
     * it) lasts until the next instruction starts, which clears it: an event before
     * that start (an interrupt the host delivers after a fault it fixed) still pushes
     * it, as on the real CPU; while it is set the instruction's breakpoint does not
     * fire, so a handler returning to it does not hit it again. TF single-steps.
     * Enabled breakpoints: an instruction breakpoint is a fault before the instruction
     * (EIP at it), data breakpoints a trap after it (EIP past it), reported together
     * with a single-step trap due at the same boundary in one #DB.
     */
    private void stepAlone() {
        boolean resuming = (eflags & X86.RF) != 0;
        eflags &= ~X86.RF;
        if (breakpointsArmed) {
            if (!resuming && instructionBreakpointHit()) {
                return;
            }
            memory.watchHits = 0;
        }
        boolean traced = (eflags & X86.TF) != 0;
        interrupts.entered = false;
        executor.step();
        int dr6 = 0;
        if (traced && singleStepTrapDue()) {
            dr6 |= DR6_SINGLE_STEP;
        }
        if (breakpointsArmed && memory.watchHits != 0 && !interrupts.entered) {
            dr6 |= memory.watchHits;
            memory.watchHits = 0;
        }
        if (dr6 != 0) {
            debugRegisters[6] |= dr6;
            interrupts.raiseTrap(X86.DB);
        }
    }

    /**
     * Whether an instruction that started with TF set is followed by the single-step
     * trap (#DB with the EIP of the next instruction, or of a REP instruction still
     * repeating, which runs one iteration per step). What matters is TF at the start,
     * so the POPF or IRET that sets TF is not trapped but the one that clears it is.
     * There is no trap when the instruction faulted (it did not complete: it is
     * stepped again when the handler returns, and we never get here), nor when it
     * entered a handler or the host (INT n, INT3, INTO clear TF on the way in), nor
     * after MOV SS or POP SS, which hold debug traps back for one instruction so that
     * SS and ESP change together: the trap comes after the instruction that follows.
     */
    private boolean singleStepTrapDue() {
        Instruction done = executor.in;
        boolean loadsStack = done.opcode == 0x17 || (done.opcode == 0x8e && done.reg == Segments.SS);
        return !interrupts.entered && !loadsStack;
    }

    /**
     * An enabled instruction breakpoint (R/W 00) at the linear address of the
     * instruction about to start: DR6 gets its bits and #DB is raised as a fault.
     */
    private boolean instructionBreakpointHit() {
        int linear = segments.base[Segments.CS] + eip;
        int dr7 = debugRegisters[7];
        int hits = 0;
        for (int n = 0; n < 4; n++) {
            if (X86.breakpointEnabled(dr7, n) && X86.breakpointKind(dr7, n) == X86.DR7_RW_EXECUTE
                    && debugRegisters[n] == linear) {
                hits |= X86.DR6_B0 << n;
            }
        }
        if (hits == 0) {
            return false;
        }
        debugRegisters[6] |= hits;
        interrupts.raiseFault(X86.DB, 0);
        return true;
    }

    /** DR0-DR3 or DR7 changed: arm or disarm the breakpoints they describe. */
    void debugRegistersChanged() {
        breakpointsArmed = (debugRegisters[7] & X86.DR7_ENABLES) != 0;
        memory.watch(debugRegisters);
        fetchPageNumber = -1;
        blockEnded = true;
        unlinkBlocks();
    }

    /**
     * Runs a decoded block, at most {@code budget} instructions (see Executor.runBlock).
     * A translating CPU built on this package overrides it to run compiled code, and
     * may run the blocks that follow: it returns the last block it ran, whose links
     * the loop then follows and extends (not the first one's, which lead elsewhere).
     */
    Block runBlock(Block block, long budget) {
        executor.runBlock(block, budget);
        return block;
    }

    /**
     * The decoded block at EIP, or null to decode one instruction the slow way (code
     * outside RAM, an instruction across a page boundary, a block reaching past the CS
     * limit). The translation goes through the TLB with fetch rights, so a block is
     * only used where the current page tables map its physical page.
     */
    Block currentBlock() {
        return currentBlock(null);
    }

    /** currentBlock(), given a block that once answered it, or null (see CodeCache.lookup). */
    Block currentBlock(Block hint) {
        long offset = eip & 0xffffffffL;
        long limit = segments.codeLimit();
        if (offset > limit) {
            return null;
        }
        int linear = segments.base[Segments.CS] + eip;
        int frame = memory.frame(linear, accessKind);
        Block block = codeCache.lookup(frame, linear & 0xfff, eip, code32(), hint);
        if (block == null || offset + block.length() - 1 > limit) {
            return null;
        }
        // After the lookup, which may have dropped code and so forgotten every link
        // and linked page: the caller links this answer under the generation now current.
        linkedPages.add(linear >>> 12);
        return block;
    }

    /**
     * What currentBlock() answers may change under every code segment (mapping, cached
     * code, debug registers): remembered successors are forgotten, all at once.
     */
    void unlinkBlocks() {
        linkGeneration = linkContexts.renewAll();
        linkedPages.clear();
    }

    /** Stops the running block after the current instruction (mode, mapping or code changed). */
    void endBlock() {
        blockEnded = true;
    }

    void requestExit(ExitReason reason, int vector, int errorCode) {
        pendingExit = reason;
        pendingVector = vector;
        pendingErrorCode = errorCode;
        blockEnded = true;
    }

    @Override
    public void interrupt() {
        interruptRequested = true;
    }

    @Override
    public int gpr(int register) {
        return gpr[register];
    }

    @Override
    public void setGpr(int register, int value) {
        gpr[register] = value;
    }

    @Override
    public int eip() {
        return eip;
    }

    @Override
    public void setEip(int eip) {
        this.eip = eip;
    }

    @Override
    public void setCr3(int cr3) {
        this.cr3 = cr3;
        pagingChanged();
    }

    @Override
    public void invalidatePage(int linearAddress) {
        memory.invalidate(linearAddress);
        fetchPageNumber = -1;
        if (linkedPages.mayContain(linearAddress >>> 12)) {
            unlinkBlocks();
        }
    }

    // ---- EFLAGS ----

    /** All of EFLAGS, pending status flags worked out. */
    int eflags() {
        alu.materialize();
        return eflags;
    }

    /** Replaces all of EFLAGS, pending status flags included. */
    void setEflags(int value) {
        eflags = value;
        alu.pending = Alu.EAGER;
    }

    // ---- state changes with side effects ----

    /** CR0, CR3 or CR4 changed: re-read the paging controls and flush the TLB. */
    void pagingChanged() {
        memory.configure((cr0 & X86.CR0_PG) != 0, (cr0 & X86.CR0_WP) != 0, cr3);
        alignmentChanged();
        fetchPageNumber = -1;
        blockEnded = true;
        unlinkBlocks();
    }

    /** CS was reloaded: the CPL and with it the rights of ordinary accesses may differ. */
    void privilegeChanged() {
        cpl = segments.cache[Segments.CS].selector() & 3;
        accessKind = cpl == 3 ? LinearMemory.USER : LinearMemory.READ;
        alignmentChanged();
        fetchPageNumber = -1;
        blockEnded = true;
        // What currentBlock() answers depends on CS (base, limit, default size) and on
        // the CPL (the TLB's user or supervisor rights): the new CS's own links apply.
        linkGeneration = linkContexts.select(segments.cache[Segments.CS]);
    }

    /**
     * CPL, CR0.AM or EFLAGS.AC may have changed: alignment faults (#AC) are raised at
     * CPL 3 when both bits are set. Linux sets CR0.AM, so a process that sets AC gets
     * SIGBUS for a misaligned access.
     */
    void alignmentChanged() {
        segments.setAlignmentCheck(cpl == 3 && (cr0 & X86.CR0_AM) != 0 && (eflags & X86.AC) != 0);
    }

    void setCodeSegment(SegmentCache cs) {
        segments.set(Segments.CS, cs);
        privilegeChanged();
    }

    boolean code32() {
        return segments.cache[Segments.CS].big();
    }

    boolean stack32() {
        return segments.cache[Segments.SS].big();
    }

    // ---- code fetch ----

    /** Decodes the instruction at EIP into the scratch instruction, the slow way. */
    Instruction decode() {
        decoder.decode(instruction, eip, code32());
        instruction.handler = (byte) Executor.classify(instruction);
        return instruction;
    }

    @Override
    public int codeByte(int offset) {
        int linear = segments.linearForFetch(offset);
        int pageNumber = linear >>> 12;
        if (pageNumber != fetchPageNumber) {
            fetchPage = memory.page(linear, accessKind);
            fetchPageNumber = pageNumber;
        }
        return fetchPage.get(LinearMemory.BYTE, linear & 0xfff) & 0xff;
    }

    // ---- registers by size ----

    int reg(int r, int size) {
        return switch (size) {
            case 4 -> gpr[r];
            case 2 -> gpr[r] & 0xffff;
            default -> r < 4 ? gpr[r] & 0xff : (gpr[r - 4] >>> 8) & 0xff;
        };
    }

    void setReg(int r, int size, int value) {
        switch (size) {
            case 4 -> gpr[r] = value;
            case 2 -> gpr[r] = (gpr[r] & 0xffff0000) | (value & 0xffff);
            default -> {
                if (r < 4) {
                    gpr[r] = (gpr[r] & ~0xff) | (value & 0xff);
                } else {
                    gpr[r - 4] = (gpr[r - 4] & ~0xff00) | ((value & 0xff) << 8);
                }
            }
        }
    }

    // ---- memory through segments, with the current privilege's rights ----

    int read(int segment, int offset, int size) {
        return memory.read(segments.linearForRead(segment, offset, size), size, accessKind);
    }

    int read32(int segment, int offset) {
        return memory.read32(segments.linearForRead(segment, offset, 4), accessKind);
    }

    void write32(int segment, int offset, int value) {
        memory.write32(segments.linearForWrite(segment, offset, 4), value, accessKind);
    }

    void write(int segment, int offset, int size, int value) {
        memory.write(segments.linearForWrite(segment, offset, size), size, value, accessKind);
    }

    // ---- the stack ----

    /** ESP moved by delta, wrapping within SP alone on a 16-bit stack. */
    int stackPointerPlus(int esp, int delta) {
        return stack32() ? esp + delta : (esp & 0xffff0000) | ((esp + delta) & 0xffff);
    }

    int stackOffset(int esp) {
        return stack32() ? esp : esp & 0xffff;
    }

    /** Writes a value below {@code esp} and returns the new stack pointer; commits nothing. */
    int pushAt(int esp, int value, int size) {
        int newEsp = stackPointerPlus(esp, -size);
        write(Segments.SS, stackOffset(newEsp), size, value);
        return newEsp;
    }

    void push(int value, int size) {
        gpr[X86.ESP] = pushAt(gpr[X86.ESP], value, size);
    }

    /** Reads the stack at ESP + delta without popping. */
    int peek(int delta, int size) {
        return read(Segments.SS, stackOffset(stackPointerPlus(gpr[X86.ESP], delta)), size);
    }

    int pop(int size) {
        int value = peek(0, size);
        gpr[X86.ESP] = stackPointerPlus(gpr[X86.ESP], size);
        return value;
    }
}
