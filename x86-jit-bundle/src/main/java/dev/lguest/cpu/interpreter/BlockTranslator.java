// Turns a decoded Block into JVM bytecode: one hidden class per block (ClassFile API),
// whose run(cpu) does what Executor.runBlock does for the whole block, minus the
// decoding, the dispatch and most of the bookkeeping, which are settled at translation
// time. HotSpot then compiles that method like any other.
//
// This file holds the class building and the table of forms: which decoded
// instructions are compiled and by what code. The first forms are keyed by the
// interpreter's fast-handler number (Executor.classify); further ones by opcode, added
// by the form files beside this one (addForm), each accepting the variants it
// compiles. Emitter holds what every form emits through: the block's registers in
// locals, memory operands, the lazy flags, branches and the ways out of a block.
//
// How the generated code keeps the machine state:
//  - Guest registers live in JVM locals while the block runs: those the block uses
//    are read from cpu.gpr on entry (and again after an instruction the interpreter
//    ran) and written back, if they changed, wherever the block is left (its end, a
//    taken branch, a fault, an instruction handed to the interpreter).
//  - A compiled Jcc or JMP back to the block's start (the Jcc closing a loop body is
//    rarely the block's last instruction, since an untaken Jcc does not end a block)
//    goes on there inside the method, a JVM loop, while the budget holds the rest of
//    the block from the target (a budget of at most Emitter.LOOPED_MOST: then the run
//    loop looks for a pending interrupt() and comes back); with lguest.jit.innerLoops
//    also a jump back to any earlier instruction (a nested loop's inner loop starting
//    mid-block; off by default, see Emitter.innerLoops). Each target is a join point:
//    the flag record is in the locals there with its kind in a local too (LoopFlags;
//    in the Alu, stale, where nothing sees it) and every register counts as changed.
//    The retired count is kept in a local and stored where the block is left. A jump
//    forward leaves the block (inside, loops entered from the side measured slower).
//  - Status flags follow the interpreter's lazy scheme (Alu): a flag-setting form only
//    keeps its result and operands in locals and the kind of operation is known at
//    translation time, so a Jcc after a CMP in the same block is one JVM compare. The
//    record is written to the Alu where the block is left; before any flag-setting form
//    of the block ran, the Alu's own record is used. Operations the Alu has no lazy kind
//    for (bytes and words, shifts, multiplies, ...) leave all six flags worked out in a
//    local instead (Emitter.FLAGS_EAGER), computed by the Alu's own pure functions.
//  - An instruction's register and flag writes happen after its last possible fault.
//    Each instruction that can fault has its own exception handler, which writes back
//    the registers and flags as they were at its start, commits EIP (its start) and the
//    instructions retired before it, and rethrows: the interpreter's fault rules hold.
//  - Forms outside the table below are run by the interpreter's handler for that one
//    instruction (Executor.execute), with the state written back first and read again
//    after; if it went elsewhere or ended the block, the compiled block returns.
//  - A store may land in this block's own page (the code cache then drops the page and
//    ends the block): after every store the block returns if cpu.blockEnded is set.
package dev.lguest.cpu.interpreter;

import static java.lang.constant.ConstantDescs.CD_Class;
import static java.lang.constant.ConstantDescs.CD_Object;
import static java.lang.constant.ConstantDescs.CD_String;
import static java.lang.constant.ConstantDescs.CD_boolean;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;
import static java.lang.constant.ConstantDescs.CD_void;
import static java.lang.constant.ConstantDescs.CLASS_INIT_NAME;
import static java.lang.constant.ConstantDescs.DEFAULT_NAME;
import static java.lang.constant.ConstantDescs.INIT_NAME;
import static java.lang.constant.ConstantDescs.MTD_void;

import dev.lguest.api.cpu.X86;
import java.lang.classfile.Attributes;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.classfile.attribute.CodeAttribute;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

final class BlockTranslator {
    private static final String PACKAGE = "dev.lguest.cpu.interpreter.";
    static final ClassDesc CD_CPU = ClassDesc.of(PACKAGE + "InterpreterCpu");
    static final ClassDesc CD_COMPILED = ClassDesc.of(PACKAGE + "CompiledBlock");
    static final ClassDesc CD_REGION = ClassDesc.of(PACKAGE + "CompiledRegion");
    static final ClassDesc CD_INSTRUCTION = ClassDesc.of(PACKAGE + "Instruction");
    static final ClassDesc CD_EXECUTOR = ClassDesc.of(PACKAGE + "Executor");
    static final ClassDesc CD_ALU = ClassDesc.of(PACKAGE + "Alu");
    static final ClassDesc CD_RUNTIME = ClassDesc.of(PACKAGE + "JitRuntime");
    static final ClassDesc CD_INT_ARRAY = CD_int.arrayType();
    private static final MethodTypeDesc MTD_CONSTRUCTOR = MethodTypeDesc.of(CD_void, CD_INSTRUCTION.arrayType());
    private static final MethodTypeDesc MTD_REGION_CONSTRUCTOR =
            MethodTypeDesc.of(CD_void, CD_INSTRUCTION.arrayType(), CD_int);
    private static final MethodTypeDesc MTD_RUN = MethodTypeDesc.of(CD_void, CD_CPU, CD_long);

    /**
     * The class file version of every translation: 49, the last before stack maps. A
     * version 50 or later class needs a StackMapTable, which the ClassFile API works out
     * by simulating the method's bytecode (StackMapGenerator): on a Linux boot that
     * simulation was the biggest Java cost of translating, and hot enough that HotSpot's
     * C2 compiled it (0.6 s of compiler CPU, measured with JFR, for ~70 translations).
     * Without stack maps the JVM checks the class with its type-inferring verifier,
     * written in C. The generated code needs nothing of later versions (no
     * invokedynamic, no constant dynamic, no method handle constants).
     */
    static final int CLASS_VERSION = ClassFile.JAVA_5_VERSION;

    private final MethodHandles.Lookup lookup = MethodHandles.lookup();
    private final ClassFile classFile = ClassFile.of(ClassFile.ClassHierarchyResolverOption.of(
            ClassHierarchyResolver.ofClassLoading(BlockTranslator.class.getClassLoader())));

    /**
     * Compiles a block into a new hidden class and returns its instance; {@code memory}
     * (the running CPU's) becomes the class's RAM view (RAM, RAM_ENTRIES).
     */
    CompiledBlock translate(Block block, LinearMemory memory) {
        byte[] bytes = classBytes(block);
        if (DUMP != null) {
            dump(block, bytes);
        }
        return instantiate(bytes, memory, MethodType.methodType(void.class, Instruction[].class),
                new Object[] {block.code});
    }

    /**
     * Defines a translation's hidden class, {@code memory} its class data, and makes its
     * one instance through the constructor of {@code constructor}'s type.
     */
    private CompiledBlock instantiate(byte[] bytes, LinearMemory memory, MethodType constructor,
                                      Object[] arguments) {
        try {
            MethodHandles.Lookup hidden = lookup.defineHiddenClassWithClassData(bytes, memory, true);
            return (CompiledBlock) hidden.findConstructor(hidden.lookupClass(), constructor)
                    .invokeWithArguments(arguments);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Compiles a region (RegionFinder: the entry block and the hot blocks it leads to in
     * its page) into one hidden class, its jumps between members gotos; {@code fallback}
     * is the entry block's own translation, which runs when the region may not
     * (CompiledRegion.holds). Null when the method would be too large for HotSpot to
     * compile (MAX_REGION_BYTECODE): the entry then keeps its own translation.
     */
    CompiledRegion translateRegion(RegionFinder.Region found, CompiledBlock fallback, LinearMemory memory) {
        Block[] members = found.members();
        int[] lengths = found.lengths();
        Block entry = members[0];
        byte[] bytes = classBytes(members, lengths);
        int size = runMethodSize(bytes);
        if (size > MAX_REGION_BYTECODE) {
            return null;
        }
        if (DUMP != null) {
            dump(entry, bytes);
        }
        Instruction[] code = Emitter.concatenation(members, lengths);
        long highest = 0;
        for (Instruction in : code) {
            highest = Math.max(highest, (in.next - 1) & 0xffffffffL);
        }
        CompiledRegion region = (CompiledRegion) instantiate(bytes, memory,
                MethodType.methodType(void.class, Instruction[].class, int.class), new Object[] {code, lengths[0]});
        region.members = Arrays.copyOfRange(members, 1, members.length);
        region.fallback = fallback;
        region.highestOffset = highest;
        return region;
    }

    /**
     * The most bytecode a region's run method may have: HotSpot compiles no method
     * larger than 8,000 bytes (DontCompileHugeMethods), so a larger region would run
     * in its interpreter for good.
     */
    static final int MAX_REGION_BYTECODE = 7_900;

    /** The length of the bytecode of the class's run method. */
    private int runMethodSize(byte[] bytes) {
        for (var method : classFile.parse(bytes).methods()) {
            if (method.methodName().equalsString("run")) {
                return method.findAttribute(Attributes.code()).map(CodeAttribute::codeLength).orElse(0);
            }
        }
        return 0;
    }

    /**
     * A directory every translation's class file is written to (lguest.jit.dump), for
     * reading the generated code with javap; null (the default): none written.
     */
    private static final String DUMP = System.getProperty("lguest.jit.dump");

    private static void dump(Block block, byte[] bytes) {
        try {
            java.nio.file.Path dir = java.nio.file.Path.of(DUMP);
            java.nio.file.Files.createDirectories(dir);
            java.nio.file.Files.write(dir.resolve("Compiled_" + Integer.toHexString(block.eip) + "_"
                    + Integer.toHexString(block.frame) + ".class"), bytes);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The name of a block's class, which its code uses for its own static fields. */
    static ClassDesc className(Block block) {
        return ClassDesc.of(PACKAGE + "Compiled_" + Integer.toHexString(block.eip));
    }

    /**
     * The static fields of every block's class holding its CPU's guest RAM segment and
     * TLB RAM view (LinearMemory.ram and ramEntries, set from the class data when the
     * class is initialized). HotSpot takes a static final field for a constant, and with
     * it the segment's own final fields (its base, its size, its arena): the bounds and
     * arena checks of each RAM access in compiled code compare with constants instead of
     * loading four objects' fields first. The checks themselves all stay: an access still
     * cannot leave guest RAM, and one after the arena closed still throws.
     */
    static final String RAM = "RAM", RAM_ENTRIES = "RAM_ENTRIES";
    static final ClassDesc CD_SEGMENT = ClassDesc.of("java.lang.foreign.MemorySegment");
    static final ClassDesc CD_LONG_ARRAY = CD_long.arrayType();
    private static final ClassDesc CD_MEMORY = ClassDesc.of(PACKAGE + "LinearMemory");
    private static final ClassDesc CD_LOOKUP = ClassDesc.of("java.lang.invoke.MethodHandles$Lookup");
    private static final ClassDesc CD_HANDLES = ClassDesc.of("java.lang.invoke.MethodHandles");

    byte[] classBytes(Block block) {
        return classBytes(new Block[] {block}, new int[] {block.code.length});
    }

    /** The class of one block, or of a region whose members these are (the entry first), each cut to its length. */
    byte[] classBytes(Block[] members, int[] lengths) {
        Block block = members[0];
        boolean region = members.length > 1;
        ClassDesc name = className(block);
        ClassDesc superclass = region ? CD_REGION : CD_COMPILED;
        return classFile.build(name, c -> {
            // Version 49 (Java 5): a class file without stack maps (see CLASS_VERSION).
            c.withVersion(CLASS_VERSION, 0);
            c.withFlags(ClassFile.ACC_FINAL | ClassFile.ACC_SUPER);
            c.withSuperclass(superclass);
            int constant = ClassFile.ACC_STATIC | ClassFile.ACC_FINAL | ClassFile.ACC_PRIVATE;
            c.withField(RAM, CD_SEGMENT, constant);
            c.withField(RAM_ENTRIES, CD_LONG_ARRAY, constant);
            c.withMethodBody(CLASS_INIT_NAME, MTD_void, ClassFile.ACC_STATIC, code -> code
                    .invokestatic(CD_HANDLES, "lookup", MethodTypeDesc.of(CD_LOOKUP))
                    .ldc(DEFAULT_NAME).ldc(CD_MEMORY)
                    .invokestatic(CD_HANDLES, "classData", MethodTypeDesc.of(CD_Object, CD_LOOKUP, CD_String, CD_Class))
                    .checkcast(CD_MEMORY).dup()
                    .getfield(CD_MEMORY, "ram", CD_SEGMENT).putstatic(name, RAM, CD_SEGMENT)
                    .getfield(CD_MEMORY, "ramEntries", CD_LONG_ARRAY).putstatic(name, RAM_ENTRIES, CD_LONG_ARRAY)
                    .return_());
            if (region) {
                c.withMethodBody(INIT_NAME, MTD_REGION_CONSTRUCTOR, 0, code -> code.aload(0).aload(1).iload(2)
                        .invokespecial(CD_REGION, INIT_NAME, MTD_REGION_CONSTRUCTOR).return_());
            } else {
                c.withMethodBody(INIT_NAME, MTD_CONSTRUCTOR, 0, code -> code.aload(0).aload(1)
                        .invokespecial(CD_COMPILED, INIT_NAME, MTD_CONSTRUCTOR).return_());
            }
            c.withMethodBody("run", MTD_RUN, ClassFile.ACC_FINAL, code -> new Emitter(code, members, lengths).emitBlock());
        });
    }

    // ---- the forms compiled ----

    /** Emits one instruction's code; the rest of the block's code is the Emitter's. */
    @FunctionalInterface
    interface Form {
        void emit(Emitter e, Instruction in);
    }

    /**
     * A form the translator compiles for an opcode, when {@code accepts} holds for the
     * decoded instruction (operand size, register or memory operand, ModRM reg field).
     * {@code registers}: guest registers it uses beyond those its ModRM and opcode name
     * (see registersUsed); {@code leaves}: its code always leaves the block (a jump,
     * call or return), so nothing follows it.
     */
    record OpcodeForm(Predicate<Instruction> accepts, Form form, int registers, boolean leaves) {
    }

    /** The first-generation forms, by the interpreter's fast-handler number (Executor.classify). */
    private static final Form[] FORMS = new Form[32];
    /** Further forms by opcode (0x000-0x0FF one-byte map, 0x100-0x1FF the 0F map); first accepting wins. */
    private static final List<List<OpcodeForm>> BY_OPCODE = new ArrayList<>();

    static {
        for (int op = 0; op < 0x200; op++) {
            BY_OPCODE.add(new ArrayList<>());
        }
    }

    /**
     * Adds a form for an opcode (the form files call this from their register()):
     * forms are tried in the order added, after the fast-handler table.
     */
    static void addForm(int opcode, Predicate<Instruction> accepts, int registers, boolean leaves, Form form) {
        BY_OPCODE.get(opcode).add(new OpcodeForm(accepts, form, registers, leaves));
    }

    static {
        FORMS[Executor.MOV_RM_R32] = (e, in) -> e.storeRm32(in, () -> e.loadReg(in.reg));
        FORMS[Executor.MOV_RM_IMM32] = (e, in) -> e.storeRm32(in, () -> e.code.loadConstant(in.immediate));
        FORMS[Executor.MOV_R_RM32] = (e, in) -> {
            e.loadRm32(in);
            e.commitReg(in.reg);
        };
        FORMS[Executor.MOV_R_IMM32] = (e, in) -> {
            e.code.loadConstant(in.immediate);
            e.commitReg(in.opcode & 7);
        };
        FORMS[Executor.ALU_RM_R32] = (e, in) -> e.arithmeticToRm(in, in.opcode >>> 3, () -> e.loadReg(in.reg));
        FORMS[Executor.ALU_RM_IMM32] = (e, in) -> e.arithmeticToRm(in, in.reg, () -> e.code.loadConstant(in.immediate));
        FORMS[Executor.ALU_R_RM32] = (e, in) -> {
            e.loadReg(in.reg);
            e.loadRm32(in);
            e.arithmeticToReg(in.opcode >>> 3, in.reg);
        };
        FORMS[Executor.ALU_EAX_IMM32] = (e, in) -> {
            e.loadReg(X86.EAX);
            e.code.loadConstant(in.immediate);
            e.arithmeticToReg(in.opcode >>> 3, X86.EAX);
        };
        FORMS[Executor.TEST_RM_R32] = (e, in) -> {
            e.loadRm32(in);
            e.loadReg(in.reg);
            e.arithmeticToReg(Alu.AND, -1);
        };
        FORMS[Executor.INC_R32] = (e, in) -> e.increment(in.opcode & 7, 1);
        FORMS[Executor.DEC_R32] = (e, in) -> e.increment(in.opcode & 7, -1);
        FORMS[Executor.PUSH_R32] = (e, in) -> e.push(() -> e.loadReg(in.opcode & 7));
        FORMS[Executor.POP_R32] = (e, in) -> e.pop(in.opcode & 7);
        FORMS[Executor.LEA32] = (e, in) -> {
            e.effectiveAddress(in);
            e.commitReg(in.reg);
        };
        FORMS[Executor.MOVZX8] = (e, in) -> {
            e.loadRm(in, 1);
            e.commitReg(in.reg);
        };
        FORMS[Executor.MOVZX16] = (e, in) -> {
            e.loadRm(in, 2);
            e.commitReg(in.reg);
        };
        FORMS[Executor.MOV8_R_RM] = (e, in) -> {
            e.loadRm(in, 1);
            e.commitByteReg(in.reg);
        };
        FORMS[Executor.MOV8_RM_R] = (e, in) -> e.storeRm8(in);
        FORMS[Executor.NOP] = (e, in) -> {
        };
        FORMS[Executor.JCC] = Emitter::conditionalJump;
        FORMS[Executor.JMP] = (e, in) -> e.jump(in, in.next + in.immediate);
        FORMS[Executor.CALL32] = Emitter::call;
        FORMS[Executor.RET32] = Emitter::ret;
        FORMS[Executor.IMUL_R_RM32] = (e, in) -> {
            e.loadReg(in.reg);
            e.loadRm32(in);
            e.multiply(in.reg);
        };
        FORMS[Executor.IMUL_R_RM_IMM32] = (e, in) -> {
            e.loadRm32(in);
            e.code.loadConstant(in.immediate);
            e.multiply(in.reg);
        };
        ShiftForms.register();
        ByteWordForms.register();
        UnaryMultiplyDivideForms.register();
        MiscellaneousForms.register();
        StringForms.register();
        BitOffsetForms.register();
        StackForms.register();
        X87Forms.register();
        IndirectForms.register();
        SegmentInterruptForms.register();
    }

    /** The form that compiles this instruction, or null: the interpreter runs it. */
    static Form formFor(Instruction in) {
        Form first = firstGenerationForm(in);
        if (first != null) {
            return first;
        }
        OpcodeForm form = opcodeFormFor(in);
        return form != null ? form.form() : null;
    }

    private static Form firstGenerationForm(Instruction in) {
        return in.handler != Executor.GENERIC && in.handler < FORMS.length ? FORMS[in.handler] : null;
    }

    /**
     * The opcode-table form for this instruction, or null (undefined encodings never).
     * A LOCK the instruction allows changes nothing on one CPU (every compiled
     * read-modify-write is done before any other guest code runs); one it does not
     * allow raises #UD, so the interpreter runs those.
     */
    private static OpcodeForm opcodeFormFor(Instruction in) {
        if (in.lock && !Executor.lockable(in) || (in.flags & OpcodeTable.UNDEFINED) != 0 || firstGenerationForm(in) != null
                || in.opcode < 0 || in.opcode >= BY_OPCODE.size()) {
            return null;
        }
        for (OpcodeForm form : BY_OPCODE.get(in.opcode)) {
            if (form.accepts().test(in)) {
                return form;
            }
        }
        return null;
    }

    /** Whether the translator compiles this instruction itself (else the interpreter runs it). */
    static boolean compiles(Instruction in) {
        return formFor(in) != null;
    }

    /** Whether a compiled instruction's code always leaves the block (nothing after it runs). */
    static boolean leavesBlock(Instruction in) {
        OpcodeForm form = opcodeFormFor(in);
        if (form != null) {
            return form.leaves();
        }
        return in.handler == Executor.JMP || in.handler == Executor.CALL32 || in.handler == Executor.RET32;
    }

    /**
     * The registers a compiled instruction may read or write (a superset: an extra
     * register only costs a load on entry and a store on exit).
     */
    static int registersUsed(Instruction in) {
        if (!compiles(in)) {
            return 0;
        }
        int used = (1 << X86.EAX) | (1 << X86.ESP) | (1 << X86.ECX) | (1 << (in.opcode & 7));
        used |= (1 << in.reg) | (1 << (in.reg & 3));
        if (in.mod == 3) {
            used |= (1 << in.rm) | (1 << (in.rm & 3));
        } else {
            used |= in.base >= 0 ? 1 << in.base : 0;
            used |= in.index >= 0 ? 1 << in.index : 0;
        }
        OpcodeForm form = opcodeFormFor(in);
        if (form != null) {
            used |= form.registers();
        }
        return used & 0xff;
    }
}
