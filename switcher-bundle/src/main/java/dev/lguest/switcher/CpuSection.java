package dev.lguest.switcher;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.snapshot.GuestStateSection;
import dev.lguest.api.snapshot.SectionReader;
import dev.lguest.api.snapshot.SectionWriter;
import dev.lguest.api.snapshot.SnapshotException;
import dev.lguest.api.switcher.ParkedCpus;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The CPU's part of a snapshot: its registers as a CpuState, which any CPU
 * implementation loads (the section is named after the CPU factory service, and a
 * restore may land on another implementation). The switcher writes it because it
 * owns the guest's CPU between runs; the CPU bundle knows nothing of guests.
 *
 * Only what is the guest's is taken back: the general registers, eip, the flags a
 * ring-1 or ring-3 program can hold, the segment selectors, cr2, the TS bit, the TSC
 * and the x87 image. Everything that is the host's (the switcher's GDT, IDT and TSS,
 * CR0's other bits, which vectors exit) comes from the new host; every segment's
 * hidden part is loaded afresh from the restored GDT, and CS must be at the guest's
 * ring or user ring, so no file can put a guest at ring 0. The registers are parked
 * for the guest (ParkedCpus), and its first run loads them into a new CPU.
 */
@Component(service = GuestStateSection.class)
public final class CpuSection implements GuestStateSection {
    static final int VERSION = 1;
    /** The flags a guest's own code may hold (no IOPL, VM, NT or RF). */
    static final int GUEST_FLAGS = X86.CF | X86.PF | X86.AF | X86.ZF | X86.SF | X86.TF | X86.IF | X86.DF | X86.OF
            | X86.AC | X86.ID;

    @Reference
    SegmentManager segments;

    @Override
    public String name() {
        return X86CpuFactory.class.getName();
    }

    @Override
    public int version() {
        return VERSION;
    }

    @Override
    public void save(Guest guest, SectionWriter out) throws SnapshotException {
        X86Cpu cpu = guest.cpu();
        if (cpu == null) {
            throw new SnapshotException("the guest has no CPU at this moment (a CPU swap is under way); save again");
        }
        CpuState s = cpu.saveState();
        out.writeInts(s.gpr.clone()).writeInt(s.eip).writeInt(s.eflags);
        for (SegmentRegister r : SegmentRegister.values()) {
            out.writeInt(s.segment(r).selector());
        }
        out.writeInt(s.cr0).writeInt(s.cr2).writeLong(s.tsc).writeBytes(s.fpu.clone());
    }

    @Override
    public void restore(Guest guest, int version, SectionReader in) throws SnapshotException {
        CpuState s = new CpuState();
        SwitcherComponent.setHostOwned(s);
        int[] gpr = in.readInts(8);
        System.arraycopy(gpr, 0, s.gpr, 0, 8);
        s.eip = in.readInt();
        s.eflags = (in.readInt() & GUEST_FLAGS) | X86.EFLAGS_FIXED;
        int[] selectors = new int[SegmentRegister.values().length];
        for (int i = 0; i < selectors.length; i++) {
            selectors[i] = in.readInt();
        }
        int cr0 = in.readInt();
        s.cr2 = in.readInt();
        s.tsc = in.readLong();
        byte[] fpu = in.readBytes(CpuState.FPU_IMAGE_SIZE, CpuState.FPU_IMAGE_SIZE);
        in.expectEnd();
        System.arraycopy(fpu, 0, s.fpu, 0, fpu.length);
        s.cr0 |= cr0 & X86.CR0_TS;

        int cs = selectors[SegmentRegister.CS.ordinal()];
        int ring = cs & 3;
        if (ring != Lguest.GUEST_PL && ring != 3) {
            throw new SnapshotException(String.format("section %s runs the guest at ring %d", name(), ring));
        }
        for (SegmentRegister r : SegmentRegister.values()) {
            int selector = selectors[r.ordinal()] & 0xffff;
            boolean stack = r == SegmentRegister.CS || r == SegmentRegister.SS;
            SegmentCache cache;
            if ((selector & ~3) == 0 && !stack) {
                cache = new SegmentCache(selector, 0, 0, 0);
            } else {
                cache = segments.cacheFor(guest, selector);
                if (cache == null || (stack && (selector & 3) != ring)) {
                    throw new SnapshotException(String.format("section %s loads %s with %#x, which the guest's"
                            + " GDT does not allow", name(), r, selector));
                }
            }
            s.setSegment(r, cache);
        }
        ParkedCpus.park(guest, s);
    }
}
