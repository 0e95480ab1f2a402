/*
 * Page tables reduced to what trap delivery asks of them: the kernel's linear map
 * (virtual PAGE_OFFSET + x is physical x, for the guest's RAM) and nothing else, and a
 * record of which stacks were pinned.
 */
package dev.lguest.traps;

import dev.lguest.api.guest.Guest;
import dev.lguest.api.mmu.ShadowPageTables;
import java.util.ArrayList;
import java.util.List;

final class FakeMmu implements ShadowPageTables {
    static final int PAGE_OFFSET = 0xC0000000;

    final List<int[]> pinned = new ArrayList<>();

    @Override
    public long guestPhysical(Guest guest, int virtualAddress) {
        long offset = Integer.toUnsignedLong(virtualAddress) - Integer.toUnsignedLong(PAGE_OFFSET);
        return offset >= 0 && offset < guest.memory.size() ? offset : -1;
    }

    @Override
    public boolean pinStackPages(Guest guest, int top, int pages) {
        pinned.add(new int[] {top, pages});
        return true;
    }

    @Override
    public void init(Guest guest, int pgdir) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void newPageTable(Guest guest, int pgdir) {
        throw new UnsupportedOperationException();
    }

    @Override
    public boolean demandPage(Guest guest, int virtualAddress, int errorCode) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void setPte(Guest guest, int pgdir, int virtualAddress, int pte) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void setPmd(Guest guest, int pgdir, int index) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void flush(Guest guest, boolean kernelToo) {
        throw new UnsupportedOperationException();
    }

    @Override
    public int shadowRoot(Guest guest) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void release(Guest guest) {
        throw new UnsupportedOperationException();
    }
}
