package dev.lguest.api.cpu;

/**
 * Architectural numbers of the i686 that both the CPU and its programmers (the host
 * components) need: register indices, EFLAGS and CR0 bits, exception vectors, page
 * table entry bits. Names follow the Intel manual.
 */
public final class X86 {
    private X86() {
    }

    // General registers, in the order the instruction encoding numbers them.
    public static final int EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;

    // EFLAGS.
    public static final int CF = 1 << 0, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7,
            TF = 1 << 8, IF = 1 << 9, DF = 1 << 10, OF = 1 << 11, IOPL = 3 << 12, NT = 1 << 14,
            RF = 1 << 16, VM = 1 << 17, AC = 1 << 18, ID = 1 << 21;
    /** Bit 1 of EFLAGS always reads as one. */
    public static final int EFLAGS_FIXED = 1 << 1;

    // CR0.
    public static final int CR0_PE = 1, CR0_MP = 1 << 1, CR0_EM = 1 << 2, CR0_TS = 1 << 3,
            CR0_ET = 1 << 4, CR0_NE = 1 << 5, CR0_WP = 1 << 16, CR0_AM = 1 << 18, CR0_PG = 1 << 31;

    // Exception vectors.
    public static final int DE = 0, DB = 1, NMI = 2, BP = 3, OF_VECTOR = 4, BR = 5, UD = 6, NM = 7,
            DF_VECTOR = 8, TS_VECTOR = 10, NP = 11, SS_VECTOR = 12, GP = 13, PF_VECTOR = 14, MF = 16,
            AC_VECTOR = 17;

    /** Exceptions that push an error code. */
    public static boolean hasErrorCode(int vector) {
        return vector == DF_VECTOR || (vector >= TS_VECTOR && vector <= PF_VECTOR) || vector == AC_VECTOR;
    }

    // Debug registers (Intel SDM vol. 3, 17.2). DR7 enables breakpoint n with its L bit
    // (2n) or G bit (2n+1); its R/W field (bits 16+4n) says what triggers it (00: executing
    // the instruction at the address, 01: a data write, 11: a data read or write; 10 is
    // I/O, not on this CPU) and its LEN field (bits 18+4n) how many bytes are watched
    // (00: 1, 01: 2, 11: 4; an instruction breakpoint has length 1). A hit sets Bn in DR6,
    // a single-step trap sets BS.
    /** DR7's L0-L3 and G0-G3 bits: breakpoints are off unless one of them is set. */
    public static final int DR7_ENABLES = 0xff;
    public static final int DR7_RW_EXECUTE = 0, DR7_RW_WRITE = 1, DR7_RW_IO = 2, DR7_RW_READ_WRITE = 3;
    public static final int DR6_B0 = 1, DR6_BS = 1 << 14;

    /** Whether DR7 enables breakpoint {@code n} (locally or globally). */
    public static boolean breakpointEnabled(int dr7, int n) {
        return (dr7 >>> (2 * n) & 3) != 0;
    }

    /** DR7's R/W field of breakpoint {@code n}. */
    public static int breakpointKind(int dr7, int n) {
        return dr7 >>> (16 + 4 * n) & 3;
    }

    /** How many bytes breakpoint {@code n} covers: its LEN field decoded (1, 2 or 4). */
    public static int breakpointLength(int dr7, int n) {
        return switch (dr7 >>> (18 + 4 * n) & 3) {
            case 0 -> 1;
            case 1 -> 2;
            default -> 4;
        };
    }

    /** DR7's fields for breakpoint {@code n} enabled (L bit) with the given kind and length. */
    public static int dr7Fields(int n, int kind, int length) {
        int len = switch (length) {
            case 1 -> 0;
            case 2 -> 1;
            default -> 3;
        };
        return (1 << (2 * n)) | (kind << (16 + 4 * n)) | (len << (18 + 4 * n));
    }

    // Page table entry bits (directory and table entries alike).
    public static final int PTE_PRESENT = 1, PTE_RW = 1 << 1, PTE_USER = 1 << 2, PTE_PWT = 1 << 3,
            PTE_PCD = 1 << 4, PTE_ACCESSED = 1 << 5, PTE_DIRTY = 1 << 6, PTE_PSE = 1 << 7,
            PTE_GLOBAL = 1 << 8;
    /** The frame-number part of an entry. */
    public static final int PTE_FRAME = 0xFFFFF000;

    // #PF error code bits.
    public static final int PF_PROT = 1, PF_WRITE = 1 << 1, PF_USER = 1 << 2;
}
