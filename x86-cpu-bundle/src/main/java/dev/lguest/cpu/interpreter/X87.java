// The x87 FPU: every D8-DF opcode and FWAIT. Its state is the 108-byte FSAVE image
// kept in the CPU state (control word at 0, status at 4, tag at 8, instruction and
// operand pointers at 12-27, ST(0)..ST(7) in stack order from 28), so it round-trips
// through saveState/loadState untouched; but while instructions run, the three words
// the arithmetic reads all the time (control, status, tag) and the four pointer slots
// every instruction writes live in fields, and the eight registers in two arrays by
// physical number, so a push or a pop only moves TOP, as on the chip, where FSAVE's
// listing from the top of the stack would rotate all eight. The image is brought up to date for a state capture (storeImage) and
// read back after one is loaded (imageLoaded); FNSAVE and FRSTOR build and read
// their own copy. Numbers are Float80 values; this class does the stack, tags,
// condition codes, exception masking and the FPU pointers. The instructions compiled
// code runs most, on ordinary operands, are first offered to X87FastForms, which does
// them on primitives and leaves exactly the same state, or declines before changing
// anything.
//
// Like the rest of the interpreter, an instruction reads its memory operand and does
// its memory store before it changes any FPU state, so a page fault leaves the FPU as
// it was. CR0.EM or CR0.TS make every x87 opcode raise #NM first (how a kernel switches
// FPU state lazily); an unmasked exception only sets ES, and the next waiting x87
// instruction raises #MF when CR0.NE is set.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.Float80.DE;
import static dev.lguest.cpu.interpreter.Float80.IE;
import static dev.lguest.cpu.interpreter.Float80.OE;
import static dev.lguest.cpu.interpreter.Float80.SF;
import static dev.lguest.cpu.interpreter.Float80.UE;
import static dev.lguest.cpu.interpreter.Float80.ZE;

import dev.lguest.api.cpu.X86;

final class X87 {
    static final int CONTROL = 0, STATUS = 4, TAG = 8, FIP = 12, FCS = 16, FDP = 20, FDS = 24, REGISTERS = 28;
    static final int C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000, ES = 0x80, B = 0x8000;

    // ---- the opcode forms: one table entry per memory form (opcode, reg) and per register form ----

    // Memory forms.
    static final int M_UD = 0, M_ARITH32 = 1, M_ARITH64 = 2, M_IARITH16 = 3, M_IARITH32 = 4, M_FLD32 = 5, M_FLD64 = 6,
            M_FLD80 = 7, M_FST32 = 8, M_FST64 = 9, M_FSTP32 = 10, M_FSTP64 = 11, M_FSTP80 = 12, M_FILD16 = 13,
            M_FILD32 = 14, M_FILD64 = 15, M_FIST16 = 16, M_FIST32 = 17, M_FISTP16 = 18, M_FISTP32 = 19,
            M_FISTP64 = 20, M_FBLD = 21, M_FBSTP = 22, M_FLDENV = 23, M_FLDCW = 24, M_FNSTENV = 25, M_FNSTCW = 26,
            M_FRSTOR = 27, M_FNSAVE = 28, M_FNSTSW = 29;
    // Register forms.
    static final int R_UD = 0, R_ARITH_ST0 = 1, R_ARITH_STI = 2, R_ARITH_STI_POP = 3, R_FCOM = 4, R_FCOMP = 5,
            R_FUCOM = 6, R_FUCOMP = 7, R_FCOMPP = 8, R_FUCOMPP = 9, R_FCOMI = 10, R_FCOMIP = 11, R_FUCOMI = 12,
            R_FUCOMIP = 13, R_FLD = 14, R_FXCH = 15, R_FST = 16, R_FSTP = 17, R_FNOP = 18, R_FCHS = 19, R_FABS = 20,
            R_FTST = 21, R_FXAM = 22, R_CONST = 23, R_F2XM1 = 24, R_FYL2X = 25, R_FPTAN = 26, R_FPATAN = 27,
            R_FXTRACT = 28, R_FPREM1 = 29, R_FDECSTP = 30, R_FINCSTP = 31, R_FPREM = 32, R_FYL2XP1 = 33,
            R_FSQRT = 34, R_FSINCOS = 35, R_FRNDINT = 36, R_FSCALE = 37, R_FSIN = 38, R_FCOS = 39, R_FCMOV = 40,
            R_FNCLEX = 41, R_FNINIT = 42, R_FFREE = 43, R_FFREEP = 44, R_FNSTSW_AX = 45;

    private static final int[] MEMORY_FORMS = new int[64];
    private static final int[] REGISTER_FORMS = new int[512];

    private static void memory(int opcode, int... formsByReg) {
        System.arraycopy(formsByReg, 0, MEMORY_FORMS, (opcode - 0xd8) * 8, 8);
    }

    /** Eight register forms (ST(0)..ST(7)) from ModRM byte {@code modrm}. */
    private static void registers8(int opcode, int modrm, int form) {
        for (int i = 0; i < 8; i++) {
            register(opcode, modrm + i, form);
        }
    }

    private static void register(int opcode, int modrm, int form) {
        REGISTER_FORMS[(opcode - 0xd8) * 64 + (modrm & 0x3f)] = form;
    }

    static {
        final int a32 = M_ARITH32, a64 = M_ARITH64;
        memory(0xd8, a32, a32, a32, a32, a32, a32, a32, a32);
        // FISTTP (reg 1 of DB, DD and DF) is SSE3, absent on the i686: #UD.
        memory(0xd9, M_FLD32, M_UD, M_FST32, M_FSTP32, M_FLDENV, M_FLDCW, M_FNSTENV, M_FNSTCW);
        memory(0xda, M_IARITH32, M_IARITH32, M_IARITH32, M_IARITH32, M_IARITH32, M_IARITH32, M_IARITH32, M_IARITH32);
        memory(0xdb, M_FILD32, M_UD, M_FIST32, M_FISTP32, M_UD, M_FLD80, M_UD, M_FSTP80);
        memory(0xdc, a64, a64, a64, a64, a64, a64, a64, a64);
        memory(0xdd, M_FLD64, M_UD, M_FST64, M_FSTP64, M_FRSTOR, M_UD, M_FNSAVE, M_FNSTSW);
        memory(0xde, M_IARITH16, M_IARITH16, M_IARITH16, M_IARITH16, M_IARITH16, M_IARITH16, M_IARITH16, M_IARITH16);
        memory(0xdf, M_FILD16, M_UD, M_FIST16, M_FISTP16, M_FBLD, M_FILD64, M_FBSTP, M_FISTP64);

        for (int reg = 0; reg < 8; reg++) {
            registers8(0xd8, reg << 3, R_ARITH_ST0);
            registers8(0xdc, reg << 3, R_ARITH_STI);
            registers8(0xde, reg << 3, R_ARITH_STI_POP);
        }
        // Group 2 and 3 of D8 are compares; DC and DE's are the undocumented aliases the
        // P6 still decodes (FCOM2, FCOMP3, FCOMP5), and DE D9 is FCOMPP.
        registers8(0xd8, 0x10, R_FCOM);
        registers8(0xd8, 0x18, R_FCOMP);
        registers8(0xdc, 0x10, R_FCOM);
        registers8(0xdc, 0x18, R_FCOMP);
        registers8(0xde, 0x10, R_FCOMP);
        registers8(0xde, 0x18, R_UD);
        register(0xde, 0x19, R_FCOMPP);

        registers8(0xd9, 0x00, R_FLD);
        registers8(0xd9, 0x08, R_FXCH);
        register(0xd9, 0x10, R_FNOP);
        registers8(0xd9, 0x18, R_FSTP); // FSTP1, an alias
        register(0xd9, 0x20, R_FCHS);
        register(0xd9, 0x21, R_FABS);
        register(0xd9, 0x24, R_FTST);
        register(0xd9, 0x25, R_FXAM);
        for (int k = 0; k < 7; k++) {
            register(0xd9, 0x28 + k, R_CONST);
        }
        int[] group7 = {R_F2XM1, R_FYL2X, R_FPTAN, R_FPATAN, R_FXTRACT, R_FPREM1, R_FDECSTP, R_FINCSTP, R_FPREM,
                R_FYL2XP1, R_FSQRT, R_FSINCOS, R_FRNDINT, R_FSCALE, R_FSIN, R_FCOS};
        for (int k = 0; k < 16; k++) {
            register(0xd9, 0x30 + k, group7[k]);
        }

        registers8(0xda, 0x00, R_FCMOV);
        registers8(0xda, 0x08, R_FCMOV);
        registers8(0xda, 0x10, R_FCMOV);
        registers8(0xda, 0x18, R_FCMOV);
        register(0xda, 0x29, R_FUCOMPP);

        registers8(0xdb, 0x00, R_FCMOV);
        registers8(0xdb, 0x08, R_FCMOV);
        registers8(0xdb, 0x10, R_FCMOV);
        registers8(0xdb, 0x18, R_FCMOV);
        register(0xdb, 0x20, R_FNOP); // FENI: an 8087 leftover, a no-op since the 287
        register(0xdb, 0x21, R_FNOP); // FDISI
        register(0xdb, 0x22, R_FNCLEX);
        register(0xdb, 0x23, R_FNINIT);
        register(0xdb, 0x24, R_FNOP); // FSETPM: a 287 leftover
        registers8(0xdb, 0x28, R_FUCOMI);
        registers8(0xdb, 0x30, R_FCOMI);

        registers8(0xdd, 0x00, R_FFREE);
        registers8(0xdd, 0x08, R_FXCH); // FXCH4
        registers8(0xdd, 0x10, R_FST);
        registers8(0xdd, 0x18, R_FSTP);
        registers8(0xdd, 0x20, R_FUCOM);
        registers8(0xdd, 0x28, R_FUCOMP);

        registers8(0xdf, 0x00, R_FFREEP);
        registers8(0xdf, 0x08, R_FXCH); // FXCH7
        registers8(0xdf, 0x10, R_FSTP); // FSTP8
        registers8(0xdf, 0x18, R_FSTP); // FSTP9
        register(0xdf, 0x20, R_FNSTSW_AX);
        registers8(0xdf, 0x28, R_FUCOMIP);
        registers8(0xdf, 0x30, R_FCOMIP);
    }

    /**
     * The control forms (no FPU pointer update) and the forms that do not wait (they run
     * even with an unmasked exception pending), by form number, for memory and register forms.
     */
    private static final boolean[] MEMORY_CONTROL = new boolean[M_FNSTSW + 1],
            MEMORY_NON_WAITING = new boolean[M_FNSTSW + 1], REGISTER_CONTROL = new boolean[R_FNSTSW_AX + 1],
            REGISTER_NON_WAITING = new boolean[R_FNSTSW_AX + 1];

    static {
        for (int form : new int[] {M_FLDENV, M_FLDCW, M_FNSTENV, M_FNSTCW, M_FRSTOR, M_FNSAVE, M_FNSTSW}) {
            MEMORY_CONTROL[form] = true;
        }
        for (int form : new int[] {M_FNSTENV, M_FNSTCW, M_FNSAVE, M_FNSTSW}) {
            MEMORY_NON_WAITING[form] = true;
        }
        for (int form : new int[] {R_FNCLEX, R_FNINIT, R_FNSTSW_AX}) {
            REGISTER_CONTROL[form] = true;
            REGISTER_NON_WAITING[form] = true;
        }
    }

    // ---- machine state in the image ----

    /** The significands are 8 little-endian bytes at the start of each 10-byte register. */
    static final java.lang.invoke.VarHandle LONG = java.lang.invoke.MethodHandles
            .byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
    static final java.lang.invoke.VarHandle SHORT = java.lang.invoke.MethodHandles
            .byteArrayViewVarHandle(short[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
    static final java.lang.invoke.VarHandle INT = java.lang.invoke.MethodHandles
            .byteArrayViewVarHandle(int[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    final InterpreterCpu cpu;
    /** The FSAVE image (cpu.fpu): its words, pointers and registers as storeImage left them. */
    final byte[] image;
    /** The control, status and tag words (the low 16 bits of their image slots). */
    private int control, status, tag;
    /** The instruction and operand pointer slots, whole (FCS with the opcode, FDS with its reserved half). */
    private int fip, fcs, fdp, fds;
    /** ST registers by physical number: the significands and the sign-and-exponent words. */
    private final long[] significands = new long[8];
    private final int[] exponents = new int[8];
    Instruction in;
    /** The common cases on primitives; off only in tests that hold them against the general code. */
    private final X87FastForms fast = new X87FastForms(this);
    boolean fastForms = true;
    /** The code cache epoch (the CPU's run) of the last full recomputation of the tag word. */
    private int tagsRecomputedInEpoch;
    /** The memory operand's offset, for the instruction being executed. */
    private int effectiveAddress;

    X87(InterpreterCpu cpu) {
        this.cpu = cpu;
        this.image = cpu.fpu;
        imageLoaded();
    }

    /** The image was replaced from outside (loadState, a test): the words and registers come from it. */
    void imageLoaded() {
        loadWords();
        int top = top();
        for (int i = 0; i < 8; i++) {
            int physical = (top + i) & 7;
            significands[physical] = (long) LONG.get(image, REGISTERS + 10 * i);
            exponents[physical] = (short) SHORT.get(image, REGISTERS + 10 * i + 8) & 0xffff;
        }
    }

    /** Writes the words and registers into the image, the registers listed from the top as FSAVE lists them. */
    void storeImage() {
        storeWords();
        storeRegisters(image, REGISTERS);
    }

    private void storeWords() {
        put16(image, CONTROL, control);
        put16(image, STATUS, status);
        put16(image, TAG, tag);
        put32(image, FIP, fip);
        put32(image, FCS, fcs);
        put32(image, FDP, fdp);
        put32(image, FDS, fds);
    }

    private void loadWords() {
        control = get16(image, CONTROL);
        status = get16(image, STATUS);
        tag = get16(image, TAG);
        fip = get32(image, FIP);
        fcs = get32(image, FCS);
        fdp = get32(image, FDP);
        fds = get32(image, FDS);
    }

    private void storeRegisters(byte[] into, int at) {
        int top = top();
        for (int i = 0; i < 8; i++) {
            int physical = (top + i) & 7;
            LONG.set(into, at + 10 * i, significands[physical]);
            SHORT.set(into, at + 10 * i + 8, (short) exponents[physical]);
        }
    }

    /** ST(0)..ST(7) from {@code from} at {@code at}, listed from the current top. */
    private void loadRegisters(byte[] from, int at) {
        int top = top();
        for (int i = 0; i < 8; i++) {
            int physical = (top + i) & 7;
            significands[physical] = (long) LONG.get(from, at + 10 * i);
            exponents[physical] = (short) SHORT.get(from, at + 10 * i + 8) & 0xffff;
        }
    }

    /** FNINIT (and FNSAVE's end): the registers keep their contents, TOP goes to 0, all are empty. */
    private void reset() {
        initializeWords(image);
        loadWords();
    }

    /** The state FNINIT leaves: all exceptions masked, round to nearest, 64-bit precision. */
    static void initialize(byte[] image) {
        moveTop(image, 0);
        initializeWords(image);
    }

    private static void initializeWords(byte[] image) {
        put16(image, CONTROL, 0x037f);
        put16(image, STATUS, 0);
        put16(image, TAG, 0xffff);
        for (int i = FIP; i < REGISTERS; i++) {
            image[i] = 0;
        }
        // The reserved halves of the 32-bit slots read as ones on the P6 and later.
        put16(image, CONTROL + 2, 0xffff);
        put16(image, STATUS + 2, 0xffff);
        put16(image, TAG + 2, 0xffff);
        put16(image, FDS + 2, 0xffff);
    }

    /** FWAIT: #NM when the FPU belongs to another task (TS with MP), #MF if an exception is pending. */
    void waitInstruction() {
        if ((cpu.cr0 & (X86.CR0_TS | X86.CR0_MP)) == (X86.CR0_TS | X86.CR0_MP)) {
            throw CpuFault.of(X86.NM, 0);
        }
        checkPending();
    }

    private void checkPending() {
        if ((status() & ES) != 0 && (cpu.cr0 & X86.CR0_NE) != 0) {
            throw CpuFault.of(X86.MF, 0);
        }
    }

    int control() {
        return control;
    }

    int status() {
        return status;
    }

    int top() {
        return (status() >>> 11) & 7;
    }

    private void setTop(int top) {
        status = (status & ~0x3800) | ((top & 7) << 11);
    }

    /**
     * Changes TOP without a push or pop in an image not being run (FNINIT's state for a
     * new one): the register area is listed from the top, so it rotates to keep each
     * physical register's contents.
     */
    static void moveTop(byte[] image, int top) {
        int old = (get16(image, STATUS) >>> 11) & 7;
        int by = (top - old) & 7;
        if (by != 0) {
            byte[] area = java.util.Arrays.copyOfRange(image, REGISTERS, REGISTERS + 80);
            for (int i = 0; i < 8; i++) {
                System.arraycopy(area, 10 * ((i + by) & 7), image, REGISTERS + 10 * i, 10);
            }
        }
        put16(image, STATUS, (get16(image, STATUS) & ~0x3800) | ((top & 7) << 11));
    }

    boolean empty(int i) {
        int physical = (top() + i) & 7;
        return (tag >>> (physical * 2) & 3) == 3;
    }

    private void setEmpty(int i, boolean isEmpty) {
        int physical = (top() + i) & 7;
        // A non-empty tag is recomputed from the contents when the instruction ends.
        tag = tag & ~(3 << (physical * 2)) | (isEmpty ? 3 << (physical * 2) : 0);
    }

    Float80 st(int i) {
        return new Float80(se(i), significand(i));
    }

    /** ST(i)'s sign and exponent word. */
    int se(int i) {
        return exponents[(top() + i) & 7];
    }

    /** ST(i)'s significand. */
    long significand(int i) {
        return significands[(top() + i) & 7];
    }

    private void setSt(int i, Float80 v) {
        setSt(i, v.se(), v.m());
    }

    /** ST(i) = the value, its tag that of the value: valid, zero or special. */
    void setSt(int i, int se, long m) {
        int physical = (top() + i) & 7;
        significands[physical] = m;
        exponents[physical] = se & 0xffff;
        int shift = physical * 2;
        tag = tag & ~(3 << shift) | tagOf(se, m) << shift;
    }

    /** 0 valid (normal), 1 zero, 2 special (NaN, infinity, denormal, unsupported). */
    static int tagOf(int se, long m) {
        int exponent = se & 0x7fff;
        if (exponent == 0) {
            return m == 0 ? 1 : 2;
        }
        return exponent != 0x7fff && m < 0 ? 0 : 2;
    }

    private void push(Float80 v) {
        push(v.se(), v.m());
    }

    /** TOP-1, and the value into the register that is the new top. */
    void push(int se, long m) {
        setTop(top() - 1);
        setSt(0, se, m);
    }

    /** ST(0) empty, TOP+1: the popped register keeps its contents. */
    void pop() {
        setEmpty(0, true);
        setTop(top() + 1);
    }

    /**
     * The full tag word from the contents: valid, zero, special (NaN, infinity, denormal,
     * unsupported) or empty. Every instruction ends with it (the image may have been
     * loaded from outside with any tags), so the common case, a normal number, is told
     * from one 4-byte read of the significand's top bytes and the exponent.
     */
    private void recomputeTags() {
        int tag = this.tag;
        int result = 0;
        for (int physical = 0; physical < 8; physical++) {
            int shift = physical * 2;
            int t = 3;
            if ((tag >>> shift & 3) != 3) {
                t = tagOf(exponents[physical], significands[physical]);
            }
            result |= t << shift;
        }
        this.tag = result;
    }

    /**
     * An unmasked IE, DE or ZE stops the instruction before it computes anything: only
     * those flags (and the stack fault) are raised, with C1 telling a stack overflow.
     */
    private void abort(Float80.Env env) {
        setC1((env.flags & SF) != 0 && env.stackOverflow);
        raise(env.flags & (IE | DE | ZE | SF));
    }

    /** Raises exception flags (SF comes with IE), and keeps ES and B equal to "an unmasked flag is set". */
    void raise(int flags) {
        int sw = status | (flags & 0x7f);
        status = summarize(sw, control);
    }

    private static int summarize(int sw, int cw) {
        return (sw & 0x3f & ~cw) != 0 ? sw | ES | B : sw & ~(ES | B);
    }

    void setConditions(int mask, int value) {
        status = (status & ~mask) | (value & mask);
    }

    /** C1 set to {@code c1}, then the flags raised: one write of the status word. */
    void setC1AndRaise(boolean c1, int flags) {
        int sw = (status & ~C1) | (c1 ? C1 : 0) | (flags & 0x7f);
        status = summarize(sw, control);
    }

    void setC1(boolean on) {
        setConditions(C1, on ? C1 : 0);
    }

    // ---- execution ----

    void execute(Executor x) {
        Instruction in = x.in;
        run(in, in.mod != 3 ? x.effectiveAddress(in) : 0);
    }

    /**
     * One x87 instruction for compiled code, which works out a memory operand's offset
     * from the registers it keeps itself: the same checks, forms, pointers and tags as
     * execute. It touches no general register but AX (FNSTSW AX, through cpu.gpr) and
     * no EFLAGS bit but FCOMI's (cpu.eflags, as the Alu's EAGER record): the caller puts
     * those in the CPU first where the instruction uses them.
     */
    void executeCompiled(Instruction in, int effectiveAddress) {
        run(in, effectiveAddress);
    }

    /** As executeCompiled, for FCMOVcc and FCOMI: the status flags worked out into cpu.eflags first. */
    void executeCompiledWithFlags(Instruction in, int effectiveAddress) {
        cpu.alu.materialize();
        run(in, effectiveAddress);
    }

    private void run(Instruction in, int memoryOffset) {
        this.in = in;
        if ((cpu.cr0 & (X86.CR0_EM | X86.CR0_TS)) != 0) {
            throw CpuFault.of(X86.NM, 0);
        }
        int op = in.opcode;
        boolean memoryForm = in.mod != 3;
        int form = memoryForm ? MEMORY_FORMS[(op - 0xd8) * 8 + in.reg]
                : REGISTER_FORMS[(op - 0xd8) * 64 + (in.reg << 3) + in.rm];
        if (form == 0) {
            throw CpuFault.invalidOpcode();
        }
        if (!(memoryForm ? MEMORY_NON_WAITING : REGISTER_NON_WAITING)[form]) {
            checkPending();
        }
        // Worked out once: the x87 changes no register the address depends on.
        effectiveAddress = memoryOffset;
        boolean fastForm = fastForms && (memoryForm ? fast.memory(form) : fast.register(form));
        if (!fastForm) {
            if (memoryForm) {
                executeMemory(form);
            } else {
                executeRegister(form);
            }
        }
        if (!(memoryForm ? MEMORY_CONTROL : REGISTER_CONTROL)[form]) {
            updatePointers();
        }
        // The fast forms keep the tags of the registers they write (setSt, pop), which is
        // the whole recomputation when every other tag already agrees with its register:
        // so since this unit's last full recomputation in this run() of the CPU. Between
        // runs the image may have been loaded from outside (loadState, a debugger, a
        // test) with tags that disagree, and a new run is a new code cache epoch.
        int epoch = cpu.codeCache.epoch;
        if (!fastForm || epoch != tagsRecomputedInEpoch) {
            recomputeTags();
            tagsRecomputedInEpoch = epoch;
        }
    }

    /** FIP/FCS/opcode for every non-control instruction, FDP/FDS for those with a memory operand. */
    private void updatePointers() {
        fip = in.start; // an offset within CS, as EIP is
        int opcode = ((in.opcode & 7) << 8) | (in.mod << 6) | (in.reg << 3) | in.rm;
        fcs = cpu.segments.cache[Segments.CS].selector() | (opcode << 16);
        if (in.mod != 3) {
            fdp = effectiveAddress;
            fds = 0xffff0000 | cpu.segments.cache[in.segment()].selector();
        }
    }

    private Float80.Env env() {
        return new Float80.Env(control());
    }

    /** True if any of IE, DE, ZE raised is unmasked: the instruction then changes nothing but the flags. */
    private boolean unmaskedFault(Float80.Env env) {
        return (env.flags & ~control() & (IE | DE | ZE)) != 0;
    }

    /** Reading an empty register: IE with the stack fault flag, C1 = 0 (underflow). */
    private void stackUnderflow(Float80.Env env) {
        env.flags |= IE | SF;
    }

    /**
     * Stores a register result, ending the instruction's flags: an unmasked IE/DE/ZE keeps
     * everything but the flags; otherwise the result goes to ST(dest) and the stack pops
     * {@code pops} times. C1 is the rounding direction, or 0/1 for stack under/overflow.
     */
    private void finish(Float80.Env env, int dest, Float80 result, int pops) {
        if (unmaskedFault(env)) {
            abort(env);
            return;
        }
        if (result != null) {
            setSt(dest, result);
        }
        for (int k = 0; k < pops; k++) {
            pop();
        }
        setC1((env.flags & SF) == 0 && env.roundedUp);
        raise(env.flags);
    }

    private void executeRegister(int form) {
        int i = in.rm;
        switch (form) {
            case R_ARITH_ST0 -> arithmetic(0, i, in.reg, false, 0);
            case R_ARITH_STI -> arithmetic(i, 0, in.reg, true, 0);
            case R_ARITH_STI_POP -> arithmetic(i, 0, in.reg, true, 1);
            case R_FCOM -> compare(i, false, 0, false);
            case R_FCOMP -> compare(i, false, 1, false);
            case R_FCOMPP -> compare(1, false, 2, false);
            case R_FUCOM -> compare(i, true, 0, false);
            case R_FUCOMP -> compare(i, true, 1, false);
            case R_FUCOMPP -> compare(1, true, 2, false);
            case R_FCOMI -> compare(i, false, 0, true);
            case R_FCOMIP -> compare(i, false, 1, true);
            case R_FUCOMI -> compare(i, true, 0, true);
            case R_FUCOMIP -> compare(i, true, 1, true);
            case R_FLD -> {
                Float80.Env env = env();
                Float80 v = empty(i) ? underflowValue(env) : st(i);
                pushResult(env, v);
            }
            case R_FXCH -> exchange(i);
            case R_FST -> storeRegister(i, 0);
            case R_FSTP -> storeRegister(i, 1);
            case R_FNOP -> {
            }
            case R_FCHS, R_FABS -> {
                Float80.Env env = env();
                Float80 v = operand0(env);
                if (!empty(0)) {
                    v = form == R_FCHS ? v.negate() : v.withSign(false);
                }
                finish(env, 0, v, 0);
            }
            case R_FTST -> {
                Float80.Env env = env();
                if (empty(0)) {
                    stackUnderflow(env);
                    finishCompare(env, 2, 0, false);
                } else {
                    finishCompare(env, Float80.compare(env, st(0), Float80.POSITIVE_ZERO, false), 0, false);
                }
            }
            case R_FXAM -> examine();
            case R_CONST -> loadConstant(in.rm);
            case R_FDECSTP, R_FINCSTP -> {
                setTop(top() + (form == R_FINCSTP ? 1 : -1));
                setC1(false);
            }
            case R_FCMOV -> conditionalMove(i);
            case R_FNCLEX -> status &= 0x7f00;
            case R_FNINIT -> reset();
            case R_FFREE -> setEmpty(i, true);
            case R_FFREEP -> {
                setEmpty(i, true);
                pop();
            }
            case R_FNSTSW_AX -> cpu.setReg(X86.EAX, 2, status());
            default -> X87Math.execute(this, form);
        }
    }

    // ---- shared pieces of the register forms (X87Math uses them too) ----

    /** The masked stack-underflow response: IE and SF, and the indefinite as the value read. */
    Float80 underflowValue(Float80.Env env) {
        stackUnderflow(env);
        return Float80.INDEFINITE;
    }

    /** ST(0), or the stack-underflow response if it is empty. */
    Float80 operand0(Float80.Env env) {
        return empty(0) ? underflowValue(env) : st(0);
    }

    boolean isEmpty(int i) {
        return empty(i);
    }

    Float80.Env newEnv() {
        return env();
    }

    void finishUnary(Float80.Env env, Float80 result) {
        finish(env, 0, result, 0);
    }

    /** ST(1) = result, then pop (FYL2X, FPATAN, FYL2XP1). */
    void finishBinaryPop(Float80.Env env, Float80 result) {
        finish(env, 1, result, 1);
    }

    /** ST(0) = first, then push second (FPTAN, FSINCOS, FXTRACT): stack overflow if ST(7) is full. */
    void finishReplaceAndPush(Float80.Env env, Float80 first, Float80 second) {
        if (unmaskedFault(env)) {
            abort(env);
            return;
        }
        boolean up = env.roundedUp;
        if (!empty(7)) {
            // An empty ST(0) is reported as the underflow it is (C1 = 0), even with ST(7) full.
            boolean overflow = (env.flags & SF) == 0;
            env.flags |= IE | SF;
            if (!env.masked(IE)) {
                setC1(overflow);
                raise(env.flags);
                return;
            }
            setSt(0, Float80.INDEFINITE);
            push(Float80.INDEFINITE);
            setC1(overflow);
            raise(env.flags);
            return;
        }
        setSt(0, first);
        push(second);
        setC1(up);
        raise(env.flags);
    }

    void setConditionCodes(int mask, int value) {
        setConditions(mask, value);
    }

    void raiseFlags(int flags) {
        raise(flags);
    }

    boolean masked(int flag) {
        return (control() & flag) != 0;
    }

    // ---- the register forms ----

    /**
     * The six arithmetic operations by the reg field: ADD, MUL, (COM, COMP), SUB, SUBR,
     * DIV, DIVR. With {@code toSti} the destination is ST(i) and the sense of the
     * reversed forms swaps, as the DC/DE encodings define.
     */
    private void arithmetic(int dest, int src, int reg, boolean toSti, int pops) {
        Float80.Env env = env();
        Float80 d, s;
        if (empty(dest) || empty(src)) {
            d = s = underflowValue(env);
            finish(env, dest, masked(IE) ? Float80.INDEFINITE : null, pops);
            return;
        }
        d = st(dest);
        s = st(src);
        boolean reversed = (reg == 5 || reg == 7) != toSti;
        finish(env, dest, operate(env, reg, d, s, reversed), pops);
    }

    /** dest op src (or src op dest when reversed) for the arithmetic group's reg field. */
    private static Float80 operate(Float80.Env env, int reg, Float80 dest, Float80 src, boolean reversed) {
        Float80 a = reversed ? src : dest, b = reversed ? dest : src;
        return switch (reg) {
            case 0 -> Float80.add(env, a, b, false);
            case 1 -> Float80.multiply(env, a, b);
            case 4, 5 -> Float80.add(env, a, b, true);
            default -> Float80.divide(env, a, b);
        };
    }

    /** FCOM/FUCOM/FCOMI/FUCOMI of ST(0) with ST(i), popping {@code pops} times. */
    private void compare(int i, boolean unordered, int pops, boolean eflags) {
        Float80.Env env = env();
        int result;
        if (empty(0) || empty(i)) {
            stackUnderflow(env);
            result = 2;
        } else {
            result = Float80.compare(env, st(0), st(i), unordered);
        }
        finishCompare(env, result, pops, eflags);
    }

    private void finishCompare(Float80.Env env, int result, int pops, boolean eflags) {
        boolean fault = unmaskedFault(env);
        if (eflags) {
            int f = switch (result) {
                case -1 -> X86.CF;
                case 0 -> X86.ZF;
                case 1 -> 0;
                default -> X86.ZF | X86.PF | X86.CF;
            };
            cpu.eflags = (cpu.eflags & ~(X86.CF | X86.PF | X86.AF | X86.ZF | X86.SF | X86.OF)) | f;
        } else {
            int c = switch (result) {
                case -1 -> C0;
                case 0 -> C3;
                case 1 -> 0;
                default -> C3 | C2 | C0;
            };
            setConditions(C3 | C2 | C0, c);
        }
        // An unmasked fault still reports the comparison, but does not pop. FCOMI and
        // FUCOMI write C1 only to report a stack underflow (as 0), masked or not; the
        // older compares always clear it.
        boolean keepC1 = eflags && (env.flags & SF) == 0;
        int c1 = status() & C1;
        if (fault) {
            abort(env);
        } else {
            for (int k = 0; k < pops; k++) {
                pop();
            }
            setC1(false);
            raise(env.flags);
        }
        if (keepC1) {
            setConditions(C1, c1);
        }
    }

    private void pushResult(Float80.Env env, Float80 v) {
        pushResult(env, v, true);
    }

    /**
     * Pushes a loaded value. {@code denormalBlocks} false is FLD m32/m64 on the recorded
     * AMD: an unmasked DE for a single or double denormal is reported (ES) but the
     * normalized value is still pushed.
     */
    private void pushResult(Float80.Env env, Float80 v, boolean denormalBlocks) {
        if ((env.flags & SF) == 0 && !empty(7)) {
            // A stack overflow outranks what reading the value raised (a denormal's DE).
            env.flags = IE | SF;
            env.stackOverflow = true;
            v = Float80.INDEFINITE;
        }
        int blocking = IE | ZE | (denormalBlocks ? DE : 0);
        if ((env.flags & ~control() & blocking) != 0) {
            abort(env);
            return;
        }
        push((env.flags & SF) != 0 ? Float80.INDEFINITE : v);
        setC1(env.stackOverflow);
        raise(env.flags);
    }

    private void exchange(int i) {
        Float80.Env env = env();
        Float80 a, b;
        if (empty(0) || empty(i)) {
            stackUnderflow(env);
            if (!masked(IE)) {
                abort(env);
                return;
            }
            // Masked: an empty side reads as the indefinite, and both become valid.
            a = empty(0) ? Float80.INDEFINITE : st(0);
            b = empty(i) ? Float80.INDEFINITE : st(i);
        } else {
            a = st(0);
            b = st(i);
        }
        setSt(0, b);
        setSt(i, a);
        setC1(false);
        raise(env.flags);
    }

    /** FST/FSTP ST(i): a plain copy, no rounding. */
    private void storeRegister(int i, int pops) {
        Float80.Env env = env();
        Float80 v = operand0(env);
        finish(env, i, v, pops);
    }

    private void examine() {
        Float80 v = st(0);
        int c;
        if (empty(0)) {
            c = C3 | C0;
        } else if (v.isUnsupported()) {
            c = 0;
        } else if (v.isNaN()) {
            c = C0;
        } else if (v.isInfinity()) {
            c = C2 | C0;
        } else if (v.isZero()) {
            c = C3;
        } else if (v.isDenormal()) {
            c = C3 | C2;
        } else {
            c = C2;
        }
        setConditions(C3 | C2 | C1 | C0, c | (v.negative() ? C1 : 0));
    }

    /** FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ: the irrational ones rounded by RC. */
    private void loadConstant(int which) {
        // Significands truncated to 64 bits, and whether round-to-nearest rounds them up.
        long[] significands = {0x8000_0000_0000_0000L, 0xd49a_784b_cd1b_8afeL, 0xb8aa_3b29_5c17_f0bbL,
                0xc90f_daa2_2168_c234L, 0x9a20_9a84_fbcf_f798L, 0xb172_17f7_d1cf_79abL, 0};
        int[] exponents = {0x3fff, 0x4000, 0x3fff, 0x4000, 0x3ffd, 0x3ffe, 0};
        boolean[] nearestUp = {false, false, true, true, true, true, false};
        if (which == 7) {
            throw CpuFault.invalidOpcode();
        }
        long m = significands[which];
        if (which >= 1 && which <= 5) {
            int rc = (control() >>> 10) & 3;
            if ((rc == 0 && nearestUp[which]) || rc == 2) {
                m++;
            }
        }
        pushResult(env(), new Float80(exponents[which], m));
    }

    private void conditionalMove(int i) {
        int cc = (in.opcode & 1) << 2 | in.reg; // DA: B E BE U; DB: the negations
        int f = cpu.eflags;
        boolean condition = switch (cc & 3) {
            case 0 -> (f & X86.CF) != 0;
            case 1 -> (f & X86.ZF) != 0;
            case 2 -> (f & (X86.CF | X86.ZF)) != 0;
            default -> (f & X86.PF) != 0;
        };
        if ((cc & 4) != 0) {
            condition = !condition;
        }
        Float80.Env env = env();
        if (empty(0) || empty(i)) {
            stackUnderflow(env);
            finish(env, 0, masked(IE) ? Float80.INDEFINITE : null, 0);
            return;
        }
        if (condition) {
            setSt(0, st(i));
        }
        raise(env.flags);
    }

    // ---- the memory forms ----

    private int address() {
        return effectiveAddress;
    }

    long readMemory(int size) {
        int seg = in.segment();
        int ea = address();
        if (size <= 4) {
            return cpu.read(seg, ea, size) & (size == 4 ? 0xffff_ffffL : (1L << (size * 8)) - 1);
        }
        // Two reads, but one operand: its limit and its (8-byte) alignment are checked whole.
        cpu.segments.linearForRead(seg, ea, 8);
        long low = cpu.read(seg, ea, 4) & 0xffff_ffffL;
        long high = cpu.read(seg, ea + 4, 4) & 0xffff_ffffL;
        return low | (high << 32);
    }

    private byte[] readBytes(int offset, int length) {
        byte[] b = new byte[length];
        cpu.segments.linearForRead(in.segment(), address() + offset, length); // limit and alignment, whole
        for (int k = 0; k < length; k++) {
            b[k] = (byte) cpu.read(in.segment(), address() + offset + k, 1);
        }
        return b;
    }

    /** Checks the whole destination is writable before writing any of it, so a fault writes nothing. */
    private void writeBytes(int offset, byte[] bytes) {
        int seg = in.segment();
        int ea = address() + offset;
        probeWrite(seg, ea, bytes.length);
        for (int k = 0; k < bytes.length; k++) {
            cpu.write(seg, ea + k, 1, bytes[k]);
        }
    }

    /**
     * Stores a 2-, 4- or 8-byte operand. One access faults before it writes; eight bytes
     * are two, so both pages are checked for writing first, and a fault on the second
     * page (or past the segment's limit) leaves memory as it was.
     */
    void writeLong(long value, int size) {
        int seg = in.segment();
        int ea = address();
        if (size <= 4) {
            cpu.write(seg, ea, size, (int) value);
            return;
        }
        probeWrite(seg, ea, 8);
        cpu.write(seg, ea, 4, (int) value);
        cpu.write(seg, ea + 4, 4, (int) (value >>> 32));
    }

    /**
     * Raises the fault a store of {@code size} bytes at {@code ea} would, writing
     * nothing: the segment's limit for the whole operand, then the pages in order, each
     * checked as written. As on hardware, CR2 names the first byte that faults: the
     * operand's address if its first page faults, else the first byte of the second.
     */
    private void probeWrite(int seg, int ea, int size) {
        cpu.memory.probeWrite(cpu.segments.linearForWrite(seg, ea, size), size, cpu.accessKind);
    }

    private static Float80 fromMemoryInteger(long raw, int size) {
        long v = switch (size) {
            case 2 -> (short) raw;
            case 4 -> (int) raw;
            default -> raw;
        };
        return Float80.fromLong(v);
    }

    private void executeMemory(int form) {
        switch (form) {
            case M_ARITH32, M_ARITH64, M_IARITH16, M_IARITH32 -> {
                Float80.Env env = env();
                Float80 src = switch (form) {
                    case M_ARITH32 -> Float80.fromIeee(env, readMemory(4), 4);
                    case M_ARITH64 -> Float80.fromIeee(env, readMemory(8), 8);
                    case M_IARITH16 -> fromMemoryInteger(readMemory(2), 2);
                    default -> fromMemoryInteger(readMemory(4), 4);
                };
                // The conversion quieted an SNaN and normalized a denormal: give the
                // operation back the SNaN, and the denormal's DE unless a NaN wins first.
                boolean sourceDenormal = (env.flags & DE) != 0;
                if ((env.flags & IE) != 0) {
                    src = new Float80(src.se(), src.m() & ~Float80.QUIET_BIT);
                }
                env.flags = 0;
                // A denormal divided by zero is only a division by zero (FDIVR m32/m64).
                boolean dividedByZero = in.reg == 7 && !empty(0) && st(0).isZero();
                if (sourceDenormal && !empty(0) && !st(0).isNaN() && !st(0).isUnsupported() && !dividedByZero) {
                    env.flags |= DE;
                }
                if (empty(0)) {
                    underflowValue(env);
                    if (in.reg == 2 || in.reg == 3) {
                        finishCompare(env, 2, in.reg - 2, false);
                    } else {
                        finish(env, 0, masked(IE) ? Float80.INDEFINITE : null, 0);
                    }
                    return;
                }
                if (in.reg == 2 || in.reg == 3) {
                    finishCompare(env, Float80.compare(env, st(0), src, false), in.reg - 2, false);
                    return;
                }
                finish(env, 0, operate(env, in.reg, st(0), src, in.reg == 5 || in.reg == 7), 0);
            }
            case M_FLD32, M_FLD64 -> {
                Float80.Env env = env();
                int size = form == M_FLD32 ? 4 : 8;
                pushResult(env, Float80.fromIeee(env, readMemory(size), size), false);
            }
            case M_FLD80 -> {
                byte[] b = readBytes(0, 10);
                long m = 0;
                for (int k = 7; k >= 0; k--) {
                    m = (m << 8) | (b[k] & 0xff);
                }
                pushResult(env(), new Float80((b[8] & 0xff) | (b[9] & 0xff) << 8, m));
            }
            case M_FILD16, M_FILD32, M_FILD64 -> {
                int size = form == M_FILD16 ? 2 : form == M_FILD32 ? 4 : 8;
                pushResult(env(), fromMemoryInteger(readMemory(size), size));
            }
            case M_FBLD -> pushResult(env(), Float80.fromBcd(readBytes(0, 10)));
            case M_FST32, M_FSTP32, M_FST64, M_FSTP64 -> {
                Float80.Env env = env();
                int size = form == M_FST32 || form == M_FSTP32 ? 4 : 8;
                Float80 v = operand0(env);
                long bits = Float80.toIeee(env, v, size);
                storeToMemory(env, bits, size, form == M_FSTP32 || form == M_FSTP64, true);
            }
            case M_FSTP80 -> {
                Float80.Env env = env();
                Float80 v = operand0(env);
                if (!unmaskedFault(env)) {
                    byte[] b = new byte[10];
                    for (int k = 0; k < 8; k++) {
                        b[k] = (byte) (v.m() >>> (8 * k));
                    }
                    b[8] = (byte) v.se();
                    b[9] = (byte) (v.se() >>> 8);
                    writeBytes(0, b);
                }
                finish(env, 0, null, unmaskedFault(env) ? 0 : 1);
            }
            case M_FIST16, M_FIST32, M_FISTP16, M_FISTP32, M_FISTP64 -> {
                Float80.Env env = env();
                int size = form == M_FIST16 || form == M_FISTP16 ? 2 : form == M_FISTP64 ? 8 : 4;
                Float80 v = operand0(env);
                long value = Float80.toLong(env, v, size * 8, env.rc());
                storeToMemory(env, value, size, form != M_FIST16 && form != M_FIST32, false);
            }
            case M_FBSTP -> {
                Float80.Env env = env();
                Float80 v = operand0(env);
                byte[] bcd = Float80.toBcd(env, v);
                if (!unmaskedFault(env)) {
                    writeBytes(0, bcd);
                }
                finish(env, 0, null, unmaskedFault(env) ? 0 : 1);
            }
            case M_FLDCW -> {
                int cw = controlWord((int) readMemory(2));
                control = cw;
                status = summarize(status, cw);
            }
            case M_FNSTCW -> writeLong(control(), 2);
            case M_FNSTSW -> writeLong(status(), 2);
            case M_FNSTENV -> {
                writeBytes(0, environment());
                // FNSTENV masks every exception afterwards, as a handler expects.
                control |= 0x3f;
            }
            case M_FLDENV -> loadEnvironment(readBytes(0, in.operand32 ? 28 : 14));
            case M_FNSAVE -> {
                byte[] env = environment();
                int size = in.operand32 ? 28 : 14;
                byte[] all = new byte[size + 80];
                System.arraycopy(env, 0, all, 0, size);
                storeRegisters(all, size);
                writeBytes(0, all);
                reset();
            }
            case M_FRSTOR -> {
                int size = in.operand32 ? 28 : 14;
                byte[] all = readBytes(0, size + 80);
                loadEnvironment(java.util.Arrays.copyOf(all, size));
                loadRegisters(all, size);
            }
            default -> throw CpuFault.invalidOpcode();
        }
    }

    /**
     * A store to memory: an unmasked IE/DE (or OE/UE for floating-point formats) keeps
     * memory and the stack as they were; otherwise the value is written, then popped.
     */
    private void storeToMemory(Float80.Env env, long value, int size, boolean pop, boolean floating) {
        int blocking = IE | DE | ZE | (floating ? OE | UE : 0);
        if ((env.flags & ~control() & blocking) != 0) {
            // Nothing stored, nothing popped; OE/UE report what the store would have hit.
            setC1(false);
            raise(env.flags & (IE | DE | ZE | SF | OE | UE));
            return;
        }
        writeLong(value, size);
        if (pop) {
            pop();
        }
        setC1((env.flags & SF) == 0 && env.roundedUp);
        raise(env.flags);
    }

    /** The environment FNSTENV writes: 28 bytes in 32-bit form, 14 with a 16-bit operand size. */
    private byte[] environment() {
        recomputeTags();
        storeWords();
        if (in.operand32) {
            return java.util.Arrays.copyOf(image, 28);
        }
        byte[] e = new byte[14];
        put16(e, 0, control());
        put16(e, 2, status());
        put16(e, 4, get16(image, TAG));
        put16(e, 6, get16(image, FIP));
        put16(e, 8, get16(image, FCS));
        put16(e, 10, get16(image, FDP));
        put16(e, 12, get16(image, FDS));
        return e;
    }

    /** Bits 6 reads as one and 7 as zero whatever is loaded; the rest are kept. */
    private static int controlWord(int cw) {
        return (cw & 0xff3f) | 0x40;
    }

    private void loadEnvironment(byte[] e) {
        // The registers are kept by physical number: a new TOP only renames them.
        if (e.length == 28) {
            System.arraycopy(e, 0, image, 0, 28);
            // FNSAVE shows the reserved halves as ones whatever was loaded.
            put16(image, CONTROL + 2, 0xffff);
            put16(image, STATUS + 2, 0xffff);
            put16(image, TAG + 2, 0xffff);
            put16(image, FDS + 2, 0xffff);
            put32(image, FCS, get32(image, FCS) & 0x07ff_ffff);
        } else {
            put16(image, CONTROL, get16(e, 0));
            put16(image, STATUS, get16(e, 2));
            put16(image, TAG, get16(e, 4));
            put32(image, FIP, get16(e, 6));
            put32(image, FCS, get16(e, 8));
            put32(image, FDP, get16(e, 10));
            put32(image, FDS, 0xffff0000 | get16(e, 12));
        }
        loadWords();
        control = controlWord(control);
        status = summarize(status, control);
        // Only "empty or not" survives a load; the rest is recomputed from the contents.
        int loaded = get16(image, TAG);
        int abridged = 0;
        for (int r = 0; r < 8; r++) {
            abridged |= ((loaded >>> (2 * r) & 3) == 3 ? 3 : 0) << (2 * r);
        }
        tag = abridged;
    }

    // ---- little-endian helpers ----

    static int get16(byte[] b, int at) {
        return (short) SHORT.get(b, at) & 0xffff;
    }

    static void put16(byte[] b, int at, int value) {
        SHORT.set(b, at, (short) value);
    }

    static int get32(byte[] b, int at) {
        return (int) INT.get(b, at);
    }

    static void put32(byte[] b, int at, int value) {
        INT.set(b, at, value);
    }
}
