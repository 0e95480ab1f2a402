package dev.lguest.debugger;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;

/**
 * The i386 register file as gdb numbers it (its target description, {@link #TARGET_XML}):
 * the eight general registers, eip, eflags, the six segment selectors, the x87 stack
 * st0-st7 (80 bits each) and its control registers fctrl, fstat, ftag (the full tag
 * word, as FSAVE stores it), fiseg, fioff, foseg, fooff, fop. The x87 ones live in the
 * CpuState's FSAVE image, whose 32-bit protected-mode layout is the Intel manual's.
 *
 * A debugger may change the general registers, eip, the arithmetic flags and DF, and
 * the x87 registers. Segment selectors are not loaded from the debugger (a selector
 * without its descriptor's checks would be a hole into the host's GDT); EFLAGS' system
 * bits (IF, IOPL, VM, ...) stay the switcher's.
 */
final class I386Registers {
    static final int EIP = 8, EFLAGS = 9, FIRST_SEGMENT = 10, FIRST_ST = 16, FCTRL = 24, COUNT = 32;
    /** cs, ss, ds, es, fs, gs: gdb's order. */
    private static final SegmentRegister[] SEGMENTS = {SegmentRegister.CS, SegmentRegister.SS, SegmentRegister.DS,
        SegmentRegister.ES, SegmentRegister.FS, SegmentRegister.GS};
    /** EFLAGS bits a debugger may set: CF PF AF ZF SF DF OF. */
    static final int WRITABLE_FLAGS = X86.CF | X86.PF | X86.AF | X86.ZF | X86.SF | X86.DF | X86.OF;
    private static final int FPU_ST0 = 28;

    private I386Registers() {
    }

    static int size(int n) {
        return n >= FIRST_ST && n < FCTRL ? 10 : 4;
    }

    /** The whole file, as the g packet gives it. */
    static String all(CpuState s) {
        StringBuilder b = new StringBuilder();
        for (int n = 0; n < COUNT; n++) {
            b.append(one(s, n));
        }
        return b.toString();
    }

    /** Register n in target order hex. */
    static String one(CpuState s, int n) {
        if (n >= FIRST_ST && n < FCTRL) {
            return Hex.bytes(s.fpu, FPU_ST0 + 10 * (n - FIRST_ST), 10);
        }
        return Hex.littleEndian(Integer.toUnsignedLong(value(s, n)), 4);
    }

    private static int value(CpuState s, int n) {
        if (n < 8) {
            return s.gpr[n];
        }
        if (n == EIP) {
            return s.eip;
        }
        if (n == EFLAGS) {
            return s.eflags;
        }
        if (n < FIRST_ST) {
            return s.segment(SEGMENTS[n - FIRST_SEGMENT]).selector();
        }
        return switch (n - FCTRL) {
            case 0 -> fpu16(s, 0);
            case 1 -> fpu16(s, 4);
            case 2 -> fpu16(s, 8);
            case 3 -> fpu16(s, 16);
            case 4 -> fpu32(s, 12);
            case 5 -> fpu16(s, 24);
            case 6 -> fpu32(s, 20);
            default -> (fpu32(s, 16) >>> 16) & 0x7ff;
        };
    }

    /** Sets register n from its target-order bytes. */
    static void set(CpuState s, int n, byte[] bytes) {
        if (n < 0 || n >= COUNT || bytes.length != size(n)) {
            throw new Hex.BadRequest("no register " + n + " of " + bytes.length + " bytes");
        }
        if (n >= FIRST_ST && n < FCTRL) {
            System.arraycopy(bytes, 0, s.fpu, FPU_ST0 + 10 * (n - FIRST_ST), 10);
            return;
        }
        int v = (bytes[0] & 0xff) | (bytes[1] & 0xff) << 8 | (bytes[2] & 0xff) << 16 | (bytes[3] & 0xff) << 24;
        if (n < 8) {
            s.gpr[n] = v;
        } else if (n == EIP) {
            s.eip = v;
        } else if (n == EFLAGS) {
            s.eflags = (s.eflags & ~WRITABLE_FLAGS) | (v & WRITABLE_FLAGS);
        } else if (n >= FCTRL) {
            switch (n - FCTRL) {
                case 0 -> setFpu16(s, 0, v);
                case 1 -> setFpu16(s, 4, v);
                case 2 -> setFpu16(s, 8, v);
                case 3 -> setFpu16(s, 16, v);
                case 4 -> setFpu32(s, 12, v);
                case 5 -> setFpu16(s, 24, v);
                case 6 -> setFpu32(s, 20, v);
                default -> setFpu32(s, 16, (fpu32(s, 16) & 0xffff) | (v & 0x7ff) << 16);
            }
        }
        // Segment selectors: left as they are (see the class comment).
    }

    /** Sets the whole file from a G packet's hex. */
    static void setAll(CpuState s, byte[] file) {
        int offset = 0;
        for (int n = 0; n < COUNT && offset < file.length; n++) {
            int size = size(n);
            if (offset + size > file.length) {
                throw new Hex.BadRequest("a register file cut short");
            }
            set(s, n, java.util.Arrays.copyOfRange(file, offset, offset + size));
            offset += size;
        }
    }

    private static int fpu16(CpuState s, int offset) {
        return (s.fpu[offset] & 0xff) | (s.fpu[offset + 1] & 0xff) << 8;
    }

    private static int fpu32(CpuState s, int offset) {
        return fpu16(s, offset) | fpu16(s, offset + 2) << 16;
    }

    private static void setFpu16(CpuState s, int offset, int v) {
        s.fpu[offset] = (byte) v;
        s.fpu[offset + 1] = (byte) (v >>> 8);
    }

    private static void setFpu32(CpuState s, int offset, int v) {
        setFpu16(s, offset, v);
        setFpu16(s, offset + 2, v >>> 16);
    }

    /** The target description gdb reads with qXfer:features:read:target.xml. */
    static final String TARGET_XML = targetXml();

    private static String targetXml() {
        StringBuilder x = new StringBuilder("""
                <?xml version="1.0"?>
                <!DOCTYPE target SYSTEM "gdb-target.dtd">
                <target version="1.0">
                <architecture>i386</architecture>
                <feature name="org.gnu.gdb.i386.core">
                <flags id="i386_eflags" size="4">
                <field name="CF" start="0" end="0"/><field name="" start="1" end="1"/>
                <field name="PF" start="2" end="2"/><field name="AF" start="4" end="4"/>
                <field name="ZF" start="6" end="6"/><field name="SF" start="7" end="7"/>
                <field name="TF" start="8" end="8"/><field name="IF" start="9" end="9"/>
                <field name="DF" start="10" end="10"/><field name="OF" start="11" end="11"/>
                <field name="NT" start="14" end="14"/><field name="RF" start="16" end="16"/>
                <field name="VM" start="17" end="17"/><field name="AC" start="18" end="18"/>
                <field name="VIF" start="19" end="19"/><field name="VIP" start="20" end="20"/>
                <field name="ID" start="21" end="21"/>
                </flags>
                """);
        String[] general = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
        for (int n = 0; n < 8; n++) {
            String type = n == 4 || n == 5 ? "data_ptr" : "int32";
            x.append(reg(general[n], 32, type, n, null));
        }
        x.append(reg("eip", 32, "code_ptr", EIP, null));
        x.append(reg("eflags", 32, "i386_eflags", EFLAGS, null));
        String[] segments = {"cs", "ss", "ds", "es", "fs", "gs"};
        for (int i = 0; i < 6; i++) {
            x.append(reg(segments[i], 32, "int32", FIRST_SEGMENT + i, null));
        }
        for (int i = 0; i < 8; i++) {
            x.append(reg("st" + i, 80, "i387_ext", FIRST_ST + i, null));
        }
        String[] control = {"fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"};
        for (int i = 0; i < 8; i++) {
            x.append(reg(control[i], 32, "int", FCTRL + i, "float"));
        }
        return x.append("</feature>\n</target>\n").toString();
    }

    private static String reg(String name, int bits, String type, int number, String group) {
        return "<reg name=\"" + name + "\" bitsize=\"" + bits + "\" type=\"" + type + "\" regnum=\"" + number + "\""
                + (group == null ? "" : " group=\"" + group + "\"") + "/>\n";
    }
}
