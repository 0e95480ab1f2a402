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

    // Page table entry bits (directory and table entries alike).
    public static final int PTE_PRESENT = 1, PTE_RW = 1 << 1, PTE_USER = 1 << 2, PTE_PWT = 1 << 3,
            PTE_PCD = 1 << 4, PTE_ACCESSED = 1 << 5, PTE_DIRTY = 1 << 6, PTE_PSE = 1 << 7,
            PTE_GLOBAL = 1 << 8;
    /** The frame-number part of an entry. */
    public static final int PTE_FRAME = 0xFFFFF000;

    // #PF error code bits.
    public static final int PF_PROT = 1, PF_WRITE = 1 << 1, PF_USER = 1 << 2;
}
