/*
 * The traps, segments and page table services as one test double that only writes
 * down what it was asked, in order, so the tests can see which calls the hypercall
 * handler passed on, with which arguments, and in what sequence.
 */
package dev.lguest.hypercalls;

import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.traps.TrapDelivery;
import java.util.ArrayList;
import java.util.List;

final class RecordingServices implements TrapDelivery, SegmentManager, ShadowPageTables {
    final List<String> calls = new ArrayList<>();
    boolean syscallVectorOk = true;

    private void record(String format, Object... args) {
        calls.add(String.format(format, args));
    }

    // ---- TrapDelivery ----

    @Override
    public boolean deliverTrap(Guest guest, int vector, boolean hasErrorCode, int errorCode) {
        record("deliverTrap %d", vector);
        return true;
    }

    @Override
    public void maybeDeliverInterrupt(Guest guest) {
        record("maybeDeliverInterrupt");
    }

    @Override
    public void loadIdtEntry(Guest guest, int vector, int low, int high) {
        record("loadIdtEntry %d %#x %#x", vector, low, high);
    }

    @Override
    public void setStack(Guest guest, int segment, int esp, int pages) {
        record("setStack %#x %#x %d", segment, esp, pages);
    }

    @Override
    public void setClockEvent(Guest guest, long nanos) {
        record("setClockEvent %d", nanos);
    }

    @Override
    public boolean isDirectTrap(Guest guest, int vector) {
        return false;
    }

    @Override
    public boolean checkSyscallVector(Guest guest) {
        record("checkSyscallVector");
        return syscallVectorOk;
    }

    // ---- SegmentManager ----

    @Override
    public void setupGuestGdt(Guest guest) {
        record("setupGuestGdt");
    }

    @Override
    public void loadGdt(Guest guest, int address, int entries) {
        record("loadGdt %#x %d", address, entries);
    }

    @Override
    public void loadTls(Guest guest, int address) {
        record("loadTls %#x", address);
    }

    @Override
    public SegmentCache cacheFor(Guest guest, int selector) {
        return null;
    }

    // ---- ShadowPageTables ----

    @Override
    public void init(Guest guest, int pgdir) {
        record("init %#x", pgdir);
    }

    @Override
    public void newPageTable(Guest guest, int pgdir) {
        record("newPageTable %#x", pgdir);
    }

    @Override
    public boolean demandPage(Guest guest, int virtualAddress, int errorCode) {
        return false;
    }

    @Override
    public void setPte(Guest guest, int pgdir, int virtualAddress, int pte) {
        record("setPte %#x %#x %#x", pgdir, virtualAddress, pte);
    }

    @Override
    public void setPmd(Guest guest, int pgdir, int index) {
        record("setPmd %#x %d", pgdir, index);
    }

    @Override
    public void flush(Guest guest, boolean kernelToo) {
        record("flush %b", kernelToo);
    }

    @Override
    public int shadowRoot(Guest guest) {
        return 0;
    }

    @Override
    public boolean pinStackPages(Guest guest, int top, int pages) {
        return true;
    }

    @Override
    public void release(Guest guest) {
    }

    @Override
    public long guestPhysical(Guest guest, int virtualAddress) {
        return -1;
    }
}
