package dev.lguest.switcher;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.snapshot.SectionReader;
import dev.lguest.api.snapshot.SectionWriter;
import dev.lguest.api.snapshot.SnapshotException;
import dev.lguest.api.switcher.ParkedCpus;
import dev.lguest.testing.StateOnlyCpu;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CPU's snapshot section: the guest's registers come back, the host's come from the new host, ring 0 never. */
class CpuSectionTest {
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment ram = arena.allocate(1 << 20);
    private final CpuSection section = new CpuSection();

    /** A GDT with the kernel's and the user's code and data segments, nothing else. */
    private static final class FourSegments implements SegmentManager {
        @Override public void setupGuestGdt(Guest g) { }
        @Override public void loadGdt(Guest g, int address, int entries) { }
        @Override public void loadTls(Guest g, int address) { }
        @Override public SegmentCache cacheFor(Guest g, int selector) {
            int index = (selector & 0xffff) >>> 3;
            if (index < Lguest.GDT_ENTRY_KERNEL_CS || index > Lguest.GDT_ENTRY_KERNEL_CS + 3) {
                return null;
            }
            return new SegmentCache(selector, 0, -1, 0xc093 | ((selector & 3) << 5));
        }
    }

    CpuSectionTest() {
        section.segments = new FourSegments();
    }

    private Guest guest() {
        return new Guest(new GuestMemory(ram), new PhysicalMemory(ram), 256, Thread.currentThread());
    }

    private static CpuState registers(int cs) {
        CpuState s = new CpuState();
        for (int i = 0; i < 8; i++) {
            s.gpr[i] = 0x1000 * (i + 1);
        }
        s.eip = 0xc0100234;
        s.eflags = X86.IF | X86.ZF | X86.IOPL | X86.VM | X86.EFLAGS_FIXED;
        s.setSegment(SegmentRegister.CS, new SegmentCache(cs, 0, -1, 0xc09b));
        s.setSegment(SegmentRegister.SS, new SegmentCache(Lguest.KERNEL_DS, 0, -1, 0xc093));
        s.setSegment(SegmentRegister.DS, new SegmentCache(Lguest.KERNEL_DS, 0, -1, 0xc093));
        s.gdtBase = 0x1234;
        s.cr0 = X86.CR0_TS;
        s.cr2 = 0xdead000;
        s.tsc = 123456789L;
        s.fpu[0] = 0x7f;
        return s;
    }

    private byte[] saved(CpuState registers) throws SnapshotException {
        Guest g = guest();
        StateOnlyCpu cpu = new StateOnlyCpu();
        cpu.state = registers;
        g.setCpu(cpu, "test");
        SectionWriter out = new SectionWriter();
        section.save(g, out);
        return out.toByteArray();
    }

    @Test
    void theGuestsRegistersComeBackAndTheHostsComeFromTheNewHost() throws Exception {
        byte[] payload = saved(registers(Lguest.KERNEL_CS));
        Guest restored = guest();
        section.restore(restored, CpuSection.VERSION, new SectionReader("cpu", payload));
        CpuState s = ParkedCpus.take(restored);
        assertArrayEquals(registers(Lguest.KERNEL_CS).gpr, s.gpr);
        assertEquals(0xc0100234, s.eip);
        assertEquals(X86.IF | X86.ZF | X86.EFLAGS_FIXED, s.eflags, "no IOPL or VM from a file");
        assertEquals(Lguest.KERNEL_CS, s.segment(SegmentRegister.CS).selector());
        assertEquals(1, s.cpl());
        assertEquals(0, s.segment(SegmentRegister.ES).selector());
        assertEquals(SwitcherPages.GDT_ADDRESS, s.gdtBase, "the switcher's GDT, not the file's");
        assertEquals(SwitcherPages.taskRegister(), s.tr);
        assertTrue((s.cr0 & X86.CR0_TS) != 0 && (s.cr0 & X86.CR0_PG) != 0);
        assertEquals(0xdead000, s.cr2);
        assertEquals(123456789L, s.tsc);
        assertEquals(0x7f, s.fpu[0]);
        assertTrue(s.isHostVector(X86.PF_VECTOR));
    }

    @Test
    void aFileThatPutsTheGuestAtRingZeroIsRefused() throws Exception {
        byte[] payload = saved(registers(Lguest.KERNEL_CS & ~3));
        Guest restored = guest();
        String message = assertThrows(SnapshotException.class,
                () -> section.restore(restored, CpuSection.VERSION, new SectionReader("cpu", payload))).getMessage();
        assertTrue(message.contains("ring 0"), message);
        assertNull(ParkedCpus.take(restored));
    }

    @Test
    void aSelectorTheGuestsGdtDoesNotHaveIsRefused() throws Exception {
        byte[] payload = saved(registers(0x1f << 3 | 1));
        String message = assertThrows(SnapshotException.class,
                () -> section.restore(guest(), CpuSection.VERSION, new SectionReader("cpu", payload))).getMessage();
        assertTrue(message.contains("CS with 0xf9"), message);
    }

    @Test
    void aGuestWithoutACpuCannotBeSavedThisMoment() {
        assertThrows(SnapshotException.class, () -> section.save(guest(), new SectionWriter()));
    }
}
