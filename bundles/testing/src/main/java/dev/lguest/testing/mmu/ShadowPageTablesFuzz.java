/*
 * The fuzz driver every ShadowPageTables implementation's fuzz test runs: a guest
 * whose page tables are whatever the fuzzer writes, and every call a guest can cause
 * (the initial directory, NEW_PGTABLE, demand faults, SET_PTE, SET_PMD, flushes, the
 * kernel stack pin, address lookups) in any order with any arguments.
 *
 * What must hold, whatever the input: no Java exception; while the guest lives, every
 * present shadow entry below the switcher's slot names a frame of the guest's own (below
 * its pfn limit), through a pte page of the host's, and the switcher's slot holds the
 * switcher's page table; the frames past the limit (the Launcher's, in the same RAM)
 * keep their pattern; a second guest on the same implementation keeps its mapping and
 * its life; and releasing the guest gives back every host page it took.
 */
package dev.lguest.testing.mmu;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.mmu.ShadowPageTables;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

public final class ShadowPageTablesFuzz {
    private static final ValueLayout.OfInt ENTRY = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final byte LAUNCHER_PATTERN = (byte) 0xC3;
    /** Directories and pte pages the fuzzer writes entries into: frames 1-5 and 16-23. */
    private static final int[] TABLE_PAGES = {0x1000, 0x2000, 0x3000, 0x4000, 0x5000,
            0x10000, 0x11000, 0x12000, 0x13000, 0x14000, 0x15000, 0x16000, 0x17000};
    /** Directory slots worth aiming at: user space, the kernel's, the switcher's, its neighbour. */
    private static final int[] SLOTS = {0, 1, 2, 0x300, 0x301, 0x3fe, Lguest.SWITCHER_PGD_INDEX};
    private static final int OTHER_VADDR = 0xC0001000, OTHER_FRAME = 0x123;

    private ShadowPageTablesFuzz() {
    }

    public static void run(ShadowPageTables tables, FuzzedDataProvider data) {
        try (MmuFixture fixture = new MmuFixture(tables); MmuFixture other = new MmuFixture(tables)) {
            Guest guest = fixture.guest;
            int limit = guest.pfnLimit;
            fixture.memory().fill((long) limit << 12, MmuFixture.RAM_BYTES - ((long) limit << 12), LAUNCHER_PATTERN);
            guest.paging.switcherPageTable = guest.bus.allocateHostPage();
            guest.kernelAddress = data.consumeBoolean() ? MmuFixture.KERNEL_ADDRESS : data.consumeInt();

            // The other guest: one kernel mapping, faulted in, before the fuzzed guest starts.
            other.guest.kernelAddress = MmuFixture.KERNEL_ADDRESS;
            other.map(MmuFixture.PGDIR_A, OTHER_VADDR, OTHER_FRAME, X86.PTE_PRESENT | X86.PTE_RW);
            tables.init(other.guest, MmuFixture.PGDIR_A);
            assertTrue(tables.demandPage(other.guest, OTHER_VADDR, 2));
            int otherShadow = other.shadowPte(OTHER_VADDR);

            int hostPagesBefore = guest.bus.hostPagesInUse();
            writeTables(fixture, data, data.consumeInt(0, 16));
            tables.init(guest, pgdir(data));
            int calls = data.consumeInt(1, 40);
            for (int i = 0; i < calls && data.remainingBytes() > 0; i++) {
                switch (data.consumeInt(0, 9)) {
                    case 0, 1 -> writeTables(fixture, data, data.consumeInt(1, 4));
                    case 2 -> tables.newPageTable(guest, pgdir(data));
                    case 3, 4 -> tables.demandPage(guest, vaddr(data), data.consumeInt(0, 7));
                    case 5 -> tables.setPte(guest, pgdir(data), vaddr(data), entry(data, limit));
                    case 6 -> tables.setPmd(guest, pgdir(data),
                            data.consumeBoolean() ? SLOTS[data.consumeInt(0, SLOTS.length - 1)] : data.consumeInt());
                    case 7 -> tables.flush(guest, data.consumeBoolean());
                    case 8 -> tables.pinStackPages(guest, vaddr(data), data.consumeInt(0, 3));
                    default -> {
                        long physical = tables.guestPhysical(guest, vaddr(data));
                        assertTrue(physical < ((long) limit << 12) || physical < 0 || guest.isDead(),
                                "guestPhysical answered " + Long.toHexString(physical) + " beyond the guest");
                    }
                }
                if (!guest.isDead()) {
                    checkShadow(fixture, limit);
                }
            }
            if (guest.isDead()) {
                assertTrue(guest.deadReason() != null && !guest.deadReason().isEmpty());
            }

            MemorySegment launcher = fixture.memory().segment().asSlice((long) limit << 12);
            for (long at = 0; at < launcher.byteSize(); at++) {
                if (launcher.get(ValueLayout.JAVA_BYTE, at) != LAUNCHER_PATTERN) {
                    throw new AssertionError("the Launcher's memory at " + Long.toHexString(at + ((long) limit << 12))
                            + " changed");
                }
            }
            assertFalse(other.guest.isDead(), () -> "the other guest died: " + other.guest.deadReason());
            assertEquals(otherShadow, other.shadowPte(OTHER_VADDR), "the other guest's shadow mapping changed");

            tables.release(guest);
            assertEquals(hostPagesBefore, guest.bus.hostPagesInUse(), "host pages leaked by the released guest");
            tables.release(other.guest);
        }
    }

    /** Every present shadow entry below the switcher names a host pte page and guest frames. */
    private static void checkShadow(MmuFixture fixture, int limit) {
        Guest guest = fixture.guest;
        int root = fixture.tables.shadowRoot(guest);
        assertTrue(PhysicalMemory.isHostFrame(root >>> 12), "the shadow root is not a host page");
        MemorySegment directory = guest.bus.page(root >>> 12);
        for (int slot = 0; slot < Lguest.SWITCHER_PGD_INDEX; slot++) {
            int directoryEntry = directory.get(ENTRY, slot * 4L);
            if ((directoryEntry & X86.PTE_PRESENT) == 0) {
                continue;
            }
            assertTrue((directoryEntry & X86.PTE_PSE) == 0, "a large shadow page at slot " + slot);
            assertTrue(PhysicalMemory.isHostFrame(directoryEntry >>> 12),
                    "shadow slot " + slot + " points at guest frame " + Integer.toHexString(directoryEntry >>> 12));
            MemorySegment ptes = guest.bus.page(directoryEntry >>> 12);
            for (int index = 0; index < 1024; index++) {
                int pte = ptes.get(ENTRY, index * 4L);
                if ((pte & X86.PTE_PRESENT) != 0 && Integer.compareUnsigned(pte >>> 12, limit) >= 0) {
                    throw new AssertionError("shadow pte for " + Integer.toHexString(slot << 22 | index << 12)
                            + " names frame " + Integer.toHexString(pte >>> 12));
                }
            }
        }
        int switcherEntry = directory.get(ENTRY, Lguest.SWITCHER_PGD_INDEX * 4L);
        assertEquals(guest.paging.switcherPageTable, switcherEntry >>> 12, "the switcher's slot");
        assertEquals(0, switcherEntry & X86.PTE_USER, "the switcher's slot is user-visible");
    }

    /** The guest writes some entries of its own tables: directory entries and ptes. */
    private static void writeTables(MmuFixture fixture, FuzzedDataProvider data, int count) {
        int limit = fixture.guest.pfnLimit;
        for (int i = 0; i < count && data.remainingBytes() > 0; i++) {
            int page = TABLE_PAGES[data.consumeInt(0, TABLE_PAGES.length - 1)];
            int index = data.consumeBoolean() ? SLOTS[data.consumeInt(0, SLOTS.length - 1)] : data.consumeInt(0, 1023);
            int entry = data.consumeBoolean()
                    ? TABLE_PAGES[data.consumeInt(5, TABLE_PAGES.length - 1)] | MmuFixture.TABLE
                    : entry(data, limit);
            fixture.memory().write32(page + index * 4L, entry);
        }
    }

    /** An entry: mostly a frame near the guest's limit with any flags, sometimes any word. */
    private static int entry(FuzzedDataProvider data, int limit) {
        if (data.consumeBoolean()) {
            return data.consumeInt();
        }
        int frame = data.consumeBoolean() ? data.consumeInt(0, 0x20) : limit - 2 + data.consumeInt(0, 3);
        return frame << 12 | data.consumeInt(0, 0xfff);
    }

    private static int pgdir(FuzzedDataProvider data) {
        return data.consumeBoolean() ? TABLE_PAGES[data.consumeInt(0, 4)] : data.consumeInt();
    }

    private static int vaddr(FuzzedDataProvider data) {
        if (data.consumeBoolean()) {
            return data.consumeInt();
        }
        return SLOTS[data.consumeInt(0, SLOTS.length - 1)] << 22 | data.consumeInt(0, 1023) << 12 | data.consumeInt(0, 0xfff);
    }
}
