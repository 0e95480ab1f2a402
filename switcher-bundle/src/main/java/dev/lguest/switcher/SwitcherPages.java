package dev.lguest.switcher;

import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.memory.PhysicalMemory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The switcher's pages for one guest: lguest's "struct lguest_pages".
 *
 * A real lguest host maps a few pages at the very top of every guest's address space
 * (SWITCHER_ADDR, 0xFFC00000): the GDT, IDT and TSS the CPU uses while the guest runs.
 * They are host pages, mapped supervisor-only and read-only, so the guest (which runs
 * at ring 1 and is "supervisor" to the paging hardware) cannot change them; CR0.WP
 * makes the read-only bit bind at ring 1 too. The CPU reads its descriptor tables
 * through linear addresses, so these must be mapped in every shadow directory: we
 * give the MMU one page table for that slot (PagingState.switcherPageTable).
 *
 * The layout of the mapped region:
 *   SWITCHER_ADDR + 0x0000: the GDT (32 entries), then the TSS at +0x100
 *   SWITCHER_ADDR + 0x1000: the IDT (256 gates)
 *
 * The GDT and IDT are copied from the guest's copies only when the guest changed them
 * (lguest's copy_in_guest_info), and the TSS's ring-1 stack on every entry.
 */
final class SwitcherPages {
    static final int GDT_ADDRESS = Lguest.SWITCHER_ADDR;
    static final int TSS_OFFSET = 0x100;
    static final int TSS_ADDRESS = GDT_ADDRESS + TSS_OFFSET;
    /** A 32-bit TSS is 104 bytes; an I/O map base beyond its limit means "no ports". */
    static final int TSS_LIMIT = 103;
    static final int IDT_ADDRESS = Lguest.SWITCHER_ADDR + PhysicalMemory.PAGE_SIZE;
    static final int GDT_LIMIT = Lguest.GDT_ENTRIES * 8 - 1;
    static final int IDT_LIMIT = Lguest.IDT_ENTRIES * 8 - 1;

    // Descriptor words for the host's own flat ring-0 segments and the TSS.
    private static final int FLAT_LOW = 0x0000ffff;
    private static final int FLAT_CODE_HIGH = 0x00cf9b00;
    private static final int FLAT_DATA_HIGH = 0x00cf9300;
    /** Present, DPL 0, type 0xB: a busy 32-bit TSS (it is loaded in TR). */
    private static final int TSS_TYPE_BUSY = 0x8b00;
    /** A present 32-bit interrupt gate to the host's code segment. */
    private static final int HOST_GATE_HIGH = 0x8e00;

    private static final ValueLayout.OfInt U32 =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    final int pageTableFrame;
    final int gdtFrame;
    final int idtFrame;
    private final MemorySegment gdtPage;
    private final MemorySegment idtPage;

    private SwitcherPages(PhysicalMemory bus) {
        pageTableFrame = bus.allocateHostPage();
        gdtFrame = bus.allocateHostPage();
        idtFrame = bus.allocateHostPage();
        gdtPage = bus.page(gdtFrame);
        idtPage = bus.page(idtFrame);
        MemorySegment pageTable = bus.page(pageTableFrame);
        // Present, supervisor, read-only: the guest may not touch them at all from
        // ring 3, and cannot write them from ring 1 because CR0.WP is set.
        pageTable.set(U32, 0, (gdtFrame << PhysicalMemory.PAGE_SHIFT) | X86.PTE_PRESENT);
        pageTable.set(U32, 4, (idtFrame << PhysicalMemory.PAGE_SHIFT) | X86.PTE_PRESENT);
    }

    /** Allocates a guest's switcher pages and tells its MMU where they are. */
    static SwitcherPages allocate(Guest guest) {
        SwitcherPages pages = new SwitcherPages(guest.bus);
        guest.paging.switcherPageTable = pages.pageTableFrame;
        guest.segments.changed = true;
        guest.traps.changed = true;
        return pages;
    }

    void free(PhysicalMemory bus) {
        bus.freeHostPage(idtFrame);
        bus.freeHostPage(gdtFrame);
        bus.freeHostPage(pageTableFrame);
    }

    /** The TR cache the CPU runs with: our TSS, already busy. */
    static SegmentCache taskRegister() {
        return new SegmentCache(Lguest.TSS_SELECTOR, TSS_ADDRESS, TSS_LIMIT, 0x8b);
    }

    /**
     * Copies the guest's GDT in, keeping the host's slots: its own code and data
     * segments and the TSS are never the guest's.
     */
    void copyGdt(Guest guest) {
        for (int entry = 0; entry < Lguest.GDT_ENTRIES; entry++) {
            int low = guest.segments.low(entry);
            int high = guest.segments.high(entry);
            switch (entry) {
                case Lguest.GDT_ENTRY_LGUEST_CS -> { low = FLAT_LOW; high = FLAT_CODE_HIGH; }
                case Lguest.GDT_ENTRY_LGUEST_DS -> { low = FLAT_LOW; high = FLAT_DATA_HIGH; }
                case Lguest.GDT_ENTRY_TSS -> {
                    low = (TSS_ADDRESS << 16) | TSS_LIMIT;
                    high = (TSS_ADDRESS & 0xff000000) | ((TSS_ADDRESS >>> 16) & 0xff) | TSS_TYPE_BUSY;
                }
                default -> { }
            }
            gdtPage.set(U32, entry * 8L, low);
            gdtPage.set(U32, entry * 8L + 4, high);
        }
        // The TSS: no I/O ports (bitmap base past the limit), ring-1 stack set per entry.
        gdtPage.set(U16, TSS_OFFSET + 102L, (short) (TSS_LIMIT + 1));
    }

    /** The guest's kernel stack for traps from ring 3 (SET_STACK), in the TSS. */
    void setRing1Stack(int ss1, int esp1) {
        gdtPage.set(U32, TSS_OFFSET + 12L, esp1);
        gdtPage.set(U32, TSS_OFFSET + 16L, ss1);
    }

    /**
     * Fills the IDT: every vector is a host gate, which the CPU routes back to the
     * host, except the direct traps the guest handles itself (the system call). The
     * hypercall gate has DPL 1 so the guest kernel may use int $0x1f; from ring 3 it
     * raises #GP, which the guest then sees.
     *
     * A host gate for an exception the guest may raise itself with an int
     * instruction (int3, into; see hostGateDpl) takes the privilege of the guest's
     * own gate, so "int3" works exactly where the guest allowed it, as it would if
     * the gate were the guest's.
     */
    void copyIdt(Guest guest, boolean[] direct) {
        for (int vector = 0; vector < Lguest.IDT_ENTRIES; vector++) {
            int low;
            int high;
            if (direct[vector]) {
                low = guest.traps.low(vector);
                high = guest.traps.high(vector);
            } else {
                low = Lguest.LGUEST_CS << 16;
                high = HOST_GATE_HIGH | (hostGateDpl(guest, vector) << 13);
            }
            idtPage.set(U32, vector * 8L, low);
            idtPage.set(U32, vector * 8L + 4, high);
        }
    }

    /**
     * The DPL of the host's gate for a vector that comes back to the host. The CPU
     * checks it against the CPL on an int instruction before it looks anywhere else,
     * and a DPL 0 gate turns the guest's "int3" into a #GP. In lguest the exceptions
     * other than #NM, #GP and #PF are direct traps, copied from the guest's IDT with
     * the guest's DPL; we route them through the host instead, so their host gate
     * must carry that DPL. #NM, #GP, #PF and the interrupt vectors keep DPL 0, as in
     * lguest: a guest's "int $14" is a #GP there too. So do the exceptions with an
     * error code: "int $n" pushes none, and the host's delivery would add one.
     */
    static int hostGateDpl(Guest guest, int vector) {
        if (vector == Lguest.TRAP_ENTRY) {
            return Lguest.GUEST_PL;
        }
        if (vector >= Lguest.FIRST_EXTERNAL_VECTOR || vector == X86.NM || X86.hasErrorCode(vector)) {
            return 0;
        }
        int guestHigh = guest.traps.high(vector);
        boolean present = (guestHigh & 0x8000) != 0;
        return present ? (guestHigh >>> 13) & 3 : 0;
    }
}
