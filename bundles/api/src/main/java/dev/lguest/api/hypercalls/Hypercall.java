package dev.lguest.api.hypercalls;

/**
 * The hypercall table of lguest 2.6.24: int $0x1f with the number in eax and the
 * arguments in edx, ebx and ecx. Numbers 11 to 13 do not exist in 2.6.24.
 */
public enum Hypercall {
    FLUSH_ASYNC(0), LGUEST_INIT(1), CRASH(2), LOAD_GDT(3), NEW_PGTABLE(4), FLUSH_TLB(5),
    LOAD_IDT_ENTRY(6), SET_STACK(7), TS(8), SET_CLOCKEVENT(9), HALT(10), SET_PTE(14), SET_PMD(15),
    LOAD_TLS(16), NOTIFY(17);

    private static final Hypercall[] BY_NUMBER = new Hypercall[18];

    static {
        for (Hypercall h : values()) {
            BY_NUMBER[h.number] = h;
        }
    }

    public final int number;

    Hypercall(int number) {
        this.number = number;
    }

    /** The hypercall with this number, or null for an unknown one. */
    public static Hypercall of(int number) {
        return number >= 0 && number < BY_NUMBER.length ? BY_NUMBER[number] : null;
    }
}
