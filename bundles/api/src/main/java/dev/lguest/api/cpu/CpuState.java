package dev.lguest.api.cpu;

import java.util.Arrays;
import java.util.Objects;

/**
 * Everything architectural about one CPU, as one value: what a CPU hands over when it
 * is swapped for another implementation, and what save/restore writes out.
 *
 * The fields are public because the host reads and writes registers at every exit,
 * the way lguest's switcher saves them into struct lguest_regs; {@link #copy()} makes
 * an independent snapshot. The x87 state is kept in the 108-byte image FSAVE writes in
 * 32-bit protected mode, so any FPU implementation can read another's.
 *
 * {@link #hostVectors} is the CPU's exit control, not architecture: a bitmap of the
 * 256 vectors that leave the CPU and go to the host instead of through the IDT (the
 * host-owned IDT entries of lguest's switcher). It travels with the state so a new
 * CPU routes exactly what the old one did.
 */
public final class CpuState {
    public static final int FPU_IMAGE_SIZE = 108;

    public final int[] gpr = new int[8];
    public int eip;
    public int eflags = X86.EFLAGS_FIXED;
    /** ES, CS, SS, DS, FS, GS, indexed by {@link SegmentRegister#ordinal()}. */
    public final SegmentCache[] segments = new SegmentCache[6];
    public SegmentCache ldtr = SegmentCache.NULL;
    public SegmentCache tr = SegmentCache.NULL;
    public int gdtBase, gdtLimit, idtBase, idtLimit;
    public int cr0 = X86.CR0_PE | X86.CR0_ET, cr2, cr3, cr4;
    public long tsc;
    /**
     * DR0-DR7 by number (DR4 and DR5 are unused: MOV DR4/DR5 reach DR6/DR7). They are
     * the host's: a guest at ring 1 cannot load them (MOV DRn is privileged), and an
     * attached debugger programs breakpoints and watchpoints here (see {@link X86#DR7_ENABLES}).
     */
    public final int[] debugRegisters = new int[8];
    public final byte[] fpu = new byte[FPU_IMAGE_SIZE];
    public final long[] hostVectors = new long[4];

    public CpuState() {
        Arrays.fill(segments, SegmentCache.NULL);
    }

    public SegmentCache segment(SegmentRegister register) {
        return segments[register.ordinal()];
    }

    public void setSegment(SegmentRegister register, SegmentCache cache) {
        segments[register.ordinal()] = Objects.requireNonNull(cache);
    }

    /** The current privilege level: the RPL of CS. */
    public int cpl() {
        return segments[SegmentRegister.CS.ordinal()].selector() & 3;
    }

    public boolean isHostVector(int vector) {
        return (hostVectors[vector >>> 6] & (1L << vector)) != 0;
    }

    public void setHostVector(int vector, boolean toHost) {
        if (toHost) {
            hostVectors[vector >>> 6] |= 1L << vector;
        } else {
            hostVectors[vector >>> 6] &= ~(1L << vector);
        }
    }

    public CpuState copy() {
        CpuState c = new CpuState();
        System.arraycopy(gpr, 0, c.gpr, 0, gpr.length);
        c.eip = eip;
        c.eflags = eflags;
        System.arraycopy(segments, 0, c.segments, 0, segments.length);
        c.ldtr = ldtr;
        c.tr = tr;
        c.gdtBase = gdtBase;
        c.gdtLimit = gdtLimit;
        c.idtBase = idtBase;
        c.idtLimit = idtLimit;
        c.cr0 = cr0;
        c.cr2 = cr2;
        c.cr3 = cr3;
        c.cr4 = cr4;
        c.tsc = tsc;
        System.arraycopy(debugRegisters, 0, c.debugRegisters, 0, debugRegisters.length);
        System.arraycopy(fpu, 0, c.fpu, 0, fpu.length);
        System.arraycopy(hostVectors, 0, c.hostVectors, 0, hostVectors.length);
        return c;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CpuState s && Arrays.equals(gpr, s.gpr) && eip == s.eip && eflags == s.eflags
                && Arrays.equals(segments, s.segments) && ldtr.equals(s.ldtr) && tr.equals(s.tr)
                && gdtBase == s.gdtBase && gdtLimit == s.gdtLimit && idtBase == s.idtBase
                && idtLimit == s.idtLimit && cr0 == s.cr0 && cr2 == s.cr2 && cr3 == s.cr3 && cr4 == s.cr4
                && tsc == s.tsc && Arrays.equals(debugRegisters, s.debugRegisters) && Arrays.equals(fpu, s.fpu) && Arrays.equals(hostVectors, s.hostVectors);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(gpr), eip, eflags, cr3);
    }

    @Override
    public String toString() {
        return String.format("eax=%08x ecx=%08x edx=%08x ebx=%08x esp=%08x ebp=%08x esi=%08x edi=%08x "
                + "eip=%08x eflags=%08x cs=%04x ss=%04x cr0=%08x cr2=%08x cr3=%08x",
                gpr[0], gpr[1], gpr[2], gpr[3], gpr[4], gpr[5], gpr[6], gpr[7], eip, eflags,
                segment(SegmentRegister.CS).selector(), segment(SegmentRegister.SS).selector(),
                cr0, cr2, cr3);
    }
}
