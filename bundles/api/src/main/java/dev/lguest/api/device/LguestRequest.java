package dev.lguest.api.device;

/** The first word of every write to /dev/lguest (LHREQ_*). */
public final class LguestRequest {
    private LguestRequest() {
    }

    public static final int INITIALIZE = 0;
    /** LHREQ_GETDMA belonged to 2.6.23's DMA model; 2.6.24 refuses it with EINVAL. */
    public static final int GETDMA = 1;
    public static final int IRQ = 2;
    public static final int BREAK = 3;
}
