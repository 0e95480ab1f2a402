// Decodes one instruction from a stream of code bytes into an Instruction: prefixes,
// opcode (one- or two-byte map), ModRM/SIB with 32- and 16-bit addressing, and the
// immediates the OpcodeTable asks for. The bytes come from a CodeSource, so the
// decoder does not know about segments or paging; the source raises the faults.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.OpcodeTable.FAR;
import static dev.lguest.cpu.interpreter.OpcodeTable.GROUP3;
import static dev.lguest.cpu.interpreter.OpcodeTable.IMM16;
import static dev.lguest.cpu.interpreter.OpcodeTable.IMM8;
import static dev.lguest.cpu.interpreter.OpcodeTable.IMMZ;
import static dev.lguest.cpu.interpreter.OpcodeTable.MODRM;
import static dev.lguest.cpu.interpreter.OpcodeTable.MOFFS;
import static dev.lguest.cpu.interpreter.OpcodeTable.REGISTER_ONLY;

final class Decoder {
    /** The longest legal x86 instruction; a longer one raises #GP(0). */
    static final int MAX_LENGTH = 15;

    /** Where code bytes come from: the byte at an EIP (CS-relative offset). */
    interface CodeSource {
        int codeByte(int eip);
    }

    private final CodeSource source;
    private int position, start;

    Decoder(CodeSource source) {
        this.source = source;
    }

    private int nextByte() {
        if (position - start >= MAX_LENGTH) {
            throw CpuFault.generalProtection(0);
        }
        return source.codeByte(position++);
    }

    private int next16() {
        int low = nextByte();
        return low | (nextByte() << 8);
    }

    private int next32() {
        int b0 = nextByte(), b1 = nextByte(), b2 = nextByte(), b3 = nextByte();
        return b0 | (b1 << 8) | (b2 << 16) | (b3 << 24);
    }

    void decode(Instruction in, int eip, boolean code32) {
        start = eip;
        position = eip;
        in.start = eip;
        in.operand32 = code32;
        in.address32 = code32;
        in.segmentOverride = -1;
        in.repeat = 0;
        in.lock = false;
        int b;
        prefixes:
        while (true) {
            b = nextByte();
            switch (b) {
                case 0x66 -> in.operand32 = !code32;
                case 0x67 -> in.address32 = !code32;
                case 0xf0 -> in.lock = true;
                case 0xf2, 0xf3 -> in.repeat = (byte) b;
                case 0x26 -> in.segmentOverride = Segments.ES;
                case 0x2e -> in.segmentOverride = Segments.CS;
                case 0x36 -> in.segmentOverride = Segments.SS;
                case 0x3e -> in.segmentOverride = Segments.DS;
                case 0x64 -> in.segmentOverride = Segments.FS;
                case 0x65 -> in.segmentOverride = Segments.GS;
                default -> {
                    break prefixes;
                }
            }
        }
        int opcode = b == 0x0f ? 0x100 | nextByte() : b;
        int flags = OpcodeTable.flags(opcode);
        in.opcode = (short) opcode;
        in.flags = (short) flags;
        in.mod = 3;
        in.reg = 0;
        in.rm = 0;
        in.base = -1;
        in.index = -1;
        in.scale = 0;
        in.displacement = 0;
        in.defaultSegment = Segments.DS;
        if ((flags & MODRM) != 0) {
            int modrm = nextByte();
            in.mod = (byte) (modrm >>> 6);
            in.reg = (byte) ((modrm >>> 3) & 7);
            in.rm = (byte) (modrm & 7);
            if ((flags & REGISTER_ONLY) != 0) {
                in.mod = 3;
            } else if (in.mod != 3) {
                if (in.address32) {
                    decodeAddress32(in);
                } else {
                    decodeAddress16(in);
                }
            }
            // Group 5 (FF) holds INC, DEC and PUSH beside the indirect CALLs and JMPs:
            // only the transfers (and the undefined /7, which faults) end a block, so a
            // function's "inc dword [counter]" does not cut it in two.
            if (opcode == 0xff && (in.reg <= 1 || in.reg == 6)) {
                in.flags = (short) (flags & ~OpcodeTable.ENDS_BLOCK);
            }
        }
        if ((flags & MOFFS) != 0) {
            in.displacement = in.address32 ? next32() : next16();
        }
        int immediateSize = in.operand32 ? 4 : 2;
        if ((flags & FAR) != 0) {
            in.immediate = immediateSize == 4 ? next32() : next16();
            in.displacement = next16(); // the selector: Instruction.immediate2()
        } else if ((flags & IMM16) != 0) {
            in.immediate = next16();
            if ((flags & IMM8) != 0) {
                in.displacement = nextByte(); // ENTER's level: Instruction.immediate2()
            }
        } else if ((flags & IMM8) != 0) {
            in.immediate = (byte) nextByte();
        } else if ((flags & IMMZ) != 0) {
            in.immediate = immediateSize == 4 ? next32() : (short) next16();
        } else if ((flags & GROUP3) != 0 && in.reg < 2) {
            in.immediate = opcode == 0xf6 ? (byte) nextByte() : immediateSize == 4 ? next32() : (short) next16();
        }
        in.next = position;
    }

    private void decodeAddress32(Instruction in) {
        int rm = in.rm;
        if (rm == 4) {
            int sib = nextByte();
            in.scale = (byte) (sib >>> 6);
            int index = (sib >>> 3) & 7;
            in.index = (byte) (index == 4 ? -1 : index);
            int base = sib & 7;
            if (base == 5 && in.mod == 0) {
                in.base = -1;
                in.displacement = next32();
            } else {
                in.base = (byte) base;
            }
        } else if (rm == 5 && in.mod == 0) {
            in.base = -1;
            in.displacement = next32();
        } else {
            in.base = (byte) rm;
        }
        if (in.base == 4 || in.base == 5) {
            in.defaultSegment = Segments.SS;
        }
        if (in.mod == 1) {
            in.displacement = (byte) nextByte();
        } else if (in.mod == 2) {
            in.displacement = next32();
        }
    }

    private static final byte[] BASE16 = {3, 3, 5, 5, 6, 7, 5, 3};
    private static final byte[] INDEX16 = {6, 7, 6, 7, -1, -1, -1, -1};

    private void decodeAddress16(Instruction in) {
        int rm = in.rm;
        if (rm == 6 && in.mod == 0) {
            in.base = -1;
            in.displacement = next16();
        } else {
            in.base = BASE16[rm];
            in.index = INDEX16[rm];
            if (in.base == 5) {
                in.defaultSegment = Segments.SS;
            }
        }
        if (in.mod == 1) {
            in.displacement = (byte) nextByte();
        } else if (in.mod == 2) {
            in.displacement = (short) next16();
        }
    }
}
