package dev.lguest.api.guest;

/**
 * The layout of struct lguest_data (1136 bytes), the page of guest memory shared by
 * guest and host, whose address the guest gives in LGUEST_INIT. The guest writes it
 * whenever it likes, so the host reads each field afresh and trusts none of them.
 */
public final class LguestData {
    private LguestData() {
    }

    public static final int IRQ_ENABLED = 0;
    public static final int BLOCKED_INTERRUPTS = 4;
    public static final int CR2 = 8;
    public static final int TIME_SEC = 12;
    public static final int TIME_NSEC = 16;
    public static final int HCALL_STATUS = 20;
    public static final int HCALLS = 84;
    public static final int RESERVE_MEM = 1108;
    public static final int TSC_KHZ = 1112;
    public static final int PGDIR = 1116;
    public static final int NOIRQ_START = 1120;
    public static final int NOIRQ_END = 1124;
    public static final int KERNEL_ADDRESS = 1128;
    public static final int SYSCALL_VEC = 1132;
    public static final int SIZE = 1136;

    /** Entries in the asynchronous hypercall ring, and the size of each. */
    public static final int HCALL_RING = 64;
    public static final int HCALL_ENTRY_SIZE = 16;
    /** hcall_status value the host writes once it has run an entry. */
    public static final int HCALL_DONE = 0xff;
}
