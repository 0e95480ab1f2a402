package dev.lguest.api.guest;

/**
 * The fixed numbers of the lguest 2.6.24 guest ABI on i386: privilege levels,
 * selectors, GDT slots, vectors and addresses. (See shared/lguest-2.6.24-abi.md.)
 */
public final class Lguest {
    private Lguest() {
    }

    /** The guest kernel runs at ring 1; ring 0 is the host's alone. */
    public static final int GUEST_PL = 1;

    // GDT layout of Linux 2.6.24 i386, which the guest keeps.
    public static final int GDT_ENTRIES = 32;
    public static final int GDT_ENTRY_TLS_MIN = 6;
    public static final int GDT_ENTRY_TLS_ENTRIES = 3;
    public static final int GDT_ENTRY_LGUEST_CS = 10;
    public static final int GDT_ENTRY_LGUEST_DS = 11;
    public static final int GDT_ENTRY_KERNEL_CS = 12;
    public static final int GDT_ENTRY_KERNEL_DS = 13;
    public static final int GDT_ENTRY_TSS = 16;
    public static final int GDT_ENTRY_DOUBLEFAULT_TSS = 31;

    /** __KERNEL_CS|GUEST_PL and __KERNEL_DS|GUEST_PL: what the guest kernel runs with. */
    public static final int KERNEL_CS = (GDT_ENTRY_KERNEL_CS << 3) | GUEST_PL;
    public static final int KERNEL_DS = (GDT_ENTRY_KERNEL_DS << 3) | GUEST_PL;
    /** The host's own selectors (ring 0). */
    public static final int LGUEST_CS = GDT_ENTRY_LGUEST_CS << 3;
    public static final int LGUEST_DS = GDT_ENTRY_LGUEST_DS << 3;
    public static final int TSS_SELECTOR = GDT_ENTRY_TSS << 3;

    /** Hypercalls are int $0x1f. */
    public static final int TRAP_ENTRY = 0x1f;
    /** Guest IRQ n arrives on vector FIRST_EXTERNAL_VECTOR + n. */
    public static final int FIRST_EXTERNAL_VECTOR = 32;
    public static final int IRQS = 32;
    public static final int SYSCALL_VECTOR = 0x80;
    public static final int IDT_ENTRIES = 256;

    /** The switcher lives in the top 4 MiB of every guest's address space. */
    public static final int SWITCHER_ADDR = 0xFFC00000;
    public static final int SWITCHER_PGD_INDEX = SWITCHER_ADDR >>> 22;

    /** Most a CRASH message may be, including its NUL. */
    public static final int CRASH_MESSAGE_MAX = 128;
    /** The reason a guest gives when it powers off cleanly. */
    public static final String POWER_DOWN = "Power down";
}
