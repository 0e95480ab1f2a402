package dev.lguest.api.mmu;

import dev.lguest.api.guest.Guest;

/**
 * The MMU service: shadow page tables. The guest keeps page tables in its own memory
 * that name guest-physical frames; the CPU must never walk those. Instead this service
 * builds shadow tables in host pages (see PhysicalMemory) that the CPU walks, filling
 * them on demand from the guest's tables, checking every entry on the way.
 *
 * All methods run on the guest's thread. A guest that breaks the rules is killed
 * through {@link Guest#kill(String)}; nothing is thrown.
 */
public interface ShadowPageTables {
    /** Sets a guest up on the Launcher's initial page directory (LHREQ_INITIALIZE). */
    void init(Guest guest, int pgdir);

    /** NEW_PGTABLE: the guest switched to another page directory (a cr3 write). */
    void newPageTable(Guest guest, int pgdir);

    /**
     * A page fault the CPU reported. Returns true if the shadow tables were fixed up so
     * the instruction can simply be retried; false if the guest must see the fault.
     */
    boolean demandPage(Guest guest, int virtualAddress, int errorCode);

    /** SET_PTE: the guest changed a page table entry. */
    void setPte(Guest guest, int pgdir, int virtualAddress, int pte);

    /** SET_PMD: the guest changed a page directory entry. */
    void setPmd(Guest guest, int pgdir, int index);

    /** FLUSH_TLB: forget user mappings, or (kernelToo) every mapping. */
    void flush(Guest guest, boolean kernelToo);

    /** The physical address of the shadow directory the CPU should run on (its CR3). */
    int shadowRoot(Guest guest);

    /**
     * Makes sure the guest's kernel stack pages ([esp1 - pages*4096, esp1)) are mapped
     * writable, so delivering a trap can never fault (lguest's pin_stack_pages).
     * Returns false (and kills the guest) if they cannot be.
     */
    boolean pinStackPages(Guest guest, int top, int pages);

    /** Frees every shadow page of a guest (the guest is going away). */
    void release(Guest guest);

    /** The guest-physical address a guest-virtual one maps to, or -1 if unmapped. */
    long guestPhysical(Guest guest, int virtualAddress);

    /**
     * Live migration's write tracking. The Launcher has attached a {@link
     * dev.lguest.api.memory.DirtyLog} to {@code guest.memory} (a migration starts) or
     * has just drained it (a pre-copy round ends): every shadow mapping is made
     * read-only and the CPU's cached translations are dropped, so that the guest's next
     * store to each page faults to {@link #demandPage}, which marks the page in the log
     * and maps it writable again ({@link PageEntries#logWrite}, {@link
     * PageEntries#whileLogged}). The pinned kernel stack stays writable (a trap must
     * never fault on it) and is marked. On the guest's thread, the guest stopped.
     * Returns false if this implementation cannot track the guest's writes.
     */
    default boolean writeProtect(Guest guest) {
        return false;
    }
}
