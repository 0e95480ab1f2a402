// What the decoder needs to know about each opcode to find the instruction's length:
// whether a ModRM byte follows and which immediates come after it. Semantics are not
// here, so the same table serves the interpreter and any later translator. Opcodes of
// the two-byte map (0F xx) are numbered 0x100 + xx.
package dev.lguest.cpu.interpreter;

final class OpcodeTable {
    private OpcodeTable() {
    }

    static final int MODRM = 1;
    static final int IMM8 = 1 << 1;
    static final int IMM16 = 1 << 2;
    /** 16 or 32 bits, by operand size. */
    static final int IMMZ = 1 << 3;
    /** A memory offset of the address size (MOV A0-A3). */
    static final int MOFFS = 1 << 4;
    /** A far pointer: an offset of the operand size and a 16-bit selector. */
    static final int FAR = 1 << 5;
    /** F6/F7: TEST (reg field 0 or 1) has an immediate, the rest of group 3 does not. */
    static final int GROUP3 = 1 << 6;
    /** Not an i686 instruction (or not yet implemented): #UD after decoding. */
    static final int UNDEFINED = 1 << 7;
    /** The ModRM always names registers (MOV CRn/DRn), whatever its mod field says. */
    static final int REGISTER_ONLY = 1 << 8;
    /**
     * The instruction may transfer control or change what the following bytes mean
     * (CS, paging, descriptor tables): a decoded block ends with it.
     */
    static final int ENDS_BLOCK = 1 << 9;

    private static final int[] FLAGS = new int[512];

    static int flags(int opcode) {
        return FLAGS[opcode];
    }

    private static void set(int from, int to, int flags) {
        for (int op = from; op <= to; op++) {
            FLAGS[op] = flags;
        }
    }

    static {
        // One-byte map.
        for (int alu = 0; alu < 8; alu++) {
            int base = alu << 3;
            set(base, base + 3, MODRM);
            set(base + 4, base + 4, IMM8);
            set(base + 5, base + 5, IMMZ);
        }
        set(0x62, 0x63, MODRM);
        set(0x68, 0x68, IMMZ);
        set(0x69, 0x69, MODRM | IMMZ);
        set(0x6a, 0x6a, IMM8);
        set(0x6b, 0x6b, MODRM | IMM8);
        set(0x70, 0x7f, IMM8);
        set(0x80, 0x80, MODRM | IMM8);
        set(0x81, 0x81, MODRM | IMMZ);
        set(0x82, 0x83, MODRM | IMM8);
        set(0x84, 0x8f, MODRM);
        set(0x9a, 0x9a, FAR);
        set(0xa0, 0xa3, MOFFS);
        set(0xa8, 0xa8, IMM8);
        set(0xa9, 0xa9, IMMZ);
        set(0xb0, 0xb7, IMM8);
        set(0xb8, 0xbf, IMMZ);
        set(0xc0, 0xc1, MODRM | IMM8);
        set(0xc2, 0xc2, IMM16);
        set(0xc4, 0xc5, MODRM);
        set(0xc6, 0xc6, MODRM | IMM8);
        set(0xc7, 0xc7, MODRM | IMMZ);
        set(0xc8, 0xc8, IMM16 | IMM8);
        set(0xca, 0xca, IMM16);
        set(0xcd, 0xcd, IMM8);
        set(0xd0, 0xd3, MODRM);
        set(0xd4, 0xd5, IMM8);
        set(0xd8, 0xdf, MODRM);
        set(0xe0, 0xe7, IMM8);
        set(0xe8, 0xe9, IMMZ);
        set(0xea, 0xea, FAR);
        set(0xeb, 0xeb, IMM8);
        set(0xf1, 0xf1, 0); // INT1 (ICEBP)
        set(0xf6, 0xf7, MODRM | GROUP3);
        set(0xfe, 0xff, MODRM);

        // Unconditional control transfers, and instructions after which the next bytes
        // may decode or map differently. A fault anywhere also leaves the block, so #UD
        // and the rest need no mark. Conditional branches (Jcc) do not end a block:
        // taken, they leave it there like any jump; not taken, the straight line goes
        // on, so a loop body with early exits runs as one block. Group 5 (FF) is
        // marked whole; the Decoder lets its INC, DEC and PUSH through.
        for (int op : new int[] {0x17, 0x9a, 0x9d, 0xc2, 0xc3, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
                0xe0, 0xe1, 0xe2, 0xe3, 0xe8, 0xe9, 0xea, 0xeb, 0xf1, 0xf4, 0xff}) {
            FLAGS[op] |= ENDS_BLOCK;
        }

        // Two-byte map: undefined unless listed.
        set(0x100, 0x1ff, UNDEFINED);
        set(0x100, 0x103, MODRM);
        set(0x106, 0x106, 0);
        set(0x108, 0x109, 0);
        set(0x10b, 0x10b, 0);
        // Hint NOPs (0F 18-1F, the multi-byte NOP of the P6): a ModRM, no access.
        set(0x118, 0x11f, MODRM);
        set(0x120, 0x123, MODRM | REGISTER_ONLY);
        set(0x130, 0x132, 0);
        set(0x134, 0x135, 0); // SYSENTER, SYSEXIT
        set(0x140, 0x14f, MODRM);
        set(0x180, 0x18f, IMMZ);
        set(0x190, 0x19f, MODRM);
        set(0x1a0, 0x1a2, 0);
        set(0x1a3, 0x1a3, MODRM);
        set(0x1a4, 0x1a4, MODRM | IMM8);
        set(0x1a5, 0x1a5, MODRM);
        set(0x1a8, 0x1a9, 0);
        set(0x1ab, 0x1ab, MODRM);
        set(0x1ac, 0x1ac, MODRM | IMM8);
        set(0x1ad, 0x1ad, MODRM);
        set(0x1af, 0x1b7, MODRM);
        set(0x1ba, 0x1ba, MODRM | IMM8);
        set(0x1bb, 0x1bf, MODRM);
        set(0x1c0, 0x1c1, MODRM);
        set(0x1c7, 0x1c7, MODRM);
        set(0x1c8, 0x1cf, 0);
        for (int op : new int[] {0x100, 0x101, 0x106, 0x120, 0x121, 0x122, 0x123}) {
            FLAGS[op] |= ENDS_BLOCK;
        }
    }
}
