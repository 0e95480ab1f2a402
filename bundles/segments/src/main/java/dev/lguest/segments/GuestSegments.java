/*
 * The guest's Global Descriptor Table, as the host keeps it.
 *
 * The guest describes its segments itself (LOAD_GDT, LOAD_TLS), but we never let the
 * CPU use its table as given. We copy the entries into guest.segments and fix them up
 * the way lguest's segments.c does: a segment the guest left at privilege 0 is moved
 * to ring 1 (ring 0 is the host's alone), and every code or data descriptor gets its
 * "accessed" bit set now, because the CPU would otherwise write that bit into the GDT
 * on first use, and the GDT the CPU reads is not the guest's to write.
 *
 * A few slots are the host's: its own code and data segments, the TSS and the double
 * fault TSS. Whatever the guest puts there is dropped; the switcher fills them in.
 *
 * All the state lives in the Guest: this component remembers nothing between calls.
 */
package dev.lguest.segments;

import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.memory.GuestMemoryFault;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.segments.SegmentState;
import org.osgi.service.component.annotations.Component;

@Component(service = SegmentManager.class)
public final class GuestSegments implements SegmentManager {
    /** Bytes in one descriptor. */
    static final int DESCRIPTOR_SIZE = 8;

    // Bits of a descriptor's high word.
    static final int ACCESSED = 1 << 8;
    static final int CODE_OR_DATA = 1 << 12;
    static final int DPL_MASK = 3 << 13;
    static final int DPL_SHIFT = 13;
    static final int PRESENT = 1 << 15;

    /**
     * A flat 0-4 GiB segment: base 0, limit 0xfffff in 4 KiB pages, 32-bit, present,
     * already marked accessed. Code is execute/read (type 0xb), data read/write (0x3).
     */
    static final int FLAT_LOW = 0x0000ffff;
    static final int FLAT_CODE_HIGH = 0x00cf9b00;
    static final int FLAT_DATA_HIGH = 0x00cf9300;

    private static final int PAGE_SIZE = 4096;

    @Override
    public void setupGuestGdt(Guest guest) {
        SegmentState gdt = guest.segments;
        for (int i = 0; i < Lguest.GDT_ENTRIES; i++) {
            gdt.set(i, 0, 0);
        }
        // The boot segments are the host's flat ones, but at the guest's own ring.
        gdt.set(Lguest.GDT_ENTRY_KERNEL_CS, FLAT_LOW, FLAT_CODE_HIGH | (Lguest.GUEST_PL << DPL_SHIFT));
        gdt.set(Lguest.GDT_ENTRY_KERNEL_DS, FLAT_LOW, FLAT_DATA_HIGH | (Lguest.GUEST_PL << DPL_SHIFT));
        gdt.changed = true;
    }

    @Override
    public void loadGdt(Guest guest, int address, int entries) {
        // We keep exactly as many entries as the host's GDT has; the count is unsigned.
        if (Integer.compareUnsigned(entries, Lguest.GDT_ENTRIES) > 0) {
            guest.kill("too many gdt entries " + Integer.toUnsignedString(entries));
            return;
        }
        copyIn(guest, address, 0, entries);
    }

    @Override
    public void loadTls(Guest guest, int address) {
        copyIn(guest, address, Lguest.GDT_ENTRY_TLS_MIN, Lguest.GDT_ENTRY_TLS_ENTRIES);
    }

    /**
     * Reads {@code count} descriptors from guest-physical {@code address} into the
     * slots from {@code first} on. All of them are read before any is stored, so a
     * bad address leaves the table as it was (and the guest dead).
     */
    private static void copyIn(Guest guest, int address, int first, int count) {
        long start = Integer.toUnsignedLong(address);
        long length = (long) count * DESCRIPTOR_SIZE;
        if (!guestRangeOk(guest, start, length)) {
            guest.kill(String.format("bad read address %#x len %d", start, length));
            return;
        }
        int[] words = new int[count * 2];
        try {
            for (int i = 0; i < words.length; i++) {
                words[i] = guest.memory.read32(start + 4L * i);
            }
        } catch (GuestMemoryFault fault) {
            guest.kill(String.format("bad read address %#x len %d", start, length));
            return;
        }
        SegmentState gdt = guest.segments;
        for (int i = 0; i < count; i++) {
            int entry = first + i;
            if (isHostSlot(entry)) {
                continue;
            }
            gdt.set(entry, words[2 * i], fixUpHigh(words[2 * i + 1]));
        }
        gdt.changed = true;
    }

    /**
     * lguest's fix-up of one descriptor's high word, for a guest that is careless (or
     * hostile). Code and data: privilege 0 becomes the guest's ring 1, and the accessed
     * bit is set so the CPU never writes the GDT. System descriptors (task state
     * segments, LDTs, call and task gates) have no business in a guest's GDT: a Linux
     * guest never loads one from ring 1, and a call or task gate there could lead to
     * the host's ring-0 code segment. lguest leaves them alone; we go one step further
     * and mark them not present, so the CPU refuses them.
     */
    static int fixUpHigh(int high) {
        if ((high & CODE_OR_DATA) == 0) {
            return high & ~PRESENT;
        }
        if ((high & DPL_MASK) == 0) {
            high |= Lguest.GUEST_PL << DPL_SHIFT;
        }
        return high | ACCESSED;
    }

    /** The slots the switcher fills itself and never takes from the guest. */
    static boolean isHostSlot(int entry) {
        return entry == Lguest.GDT_ENTRY_TSS
                || entry == Lguest.GDT_ENTRY_LGUEST_CS
                || entry == Lguest.GDT_ENTRY_LGUEST_DS
                || entry == Lguest.GDT_ENTRY_DOUBLEFAULT_TSS;
    }

    @Override
    public SegmentCache cacheFor(Guest guest, int selector) {
        int index = (selector & 0xffff) >>> 3;
        boolean localTable = (selector & 4) != 0;
        // The guest has no LDT, and never a host slot; index 0 is the null selector.
        if (localTable || index == 0 || index >= Lguest.GDT_ENTRIES || isHostSlot(index)) {
            return null;
        }
        SegmentCache cache = SegmentCache.fromDescriptor(selector & 0xffff,
                guest.segments.low(index), guest.segments.high(index));
        if (!cache.present() || !cache.isCodeOrData()) {
            return null;
        }
        return cache;
    }

    /**
     * lguest_address_ok(): the whole range lies below the guest's frame limit, without
     * wrapping around, and inside the memory we were given.
     */
    static boolean guestRangeOk(Guest guest, long address, long length) {
        long end = address + length;
        return end >= address && end <= Integer.toUnsignedLong(guest.pfnLimit) * PAGE_SIZE
                && guest.memory.contains(address, length);
    }
}
