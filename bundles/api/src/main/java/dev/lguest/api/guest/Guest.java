package dev.lguest.api.guest;

import dev.lguest.api.cpu.X86Cpu;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.mmu.PagingState;
import dev.lguest.api.segments.SegmentState;
import dev.lguest.api.traps.TrapState;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Everything the host knows about one guest: lguest's "struct lguest".
 *
 * The component services (the CPU, page tables, traps, segments, hypercalls, the
 * switcher, /dev/lguest) hold no state of their own about a guest. It all lives here,
 * in explicit values defined by the API, which is what lets any of those services be
 * replaced while the guest runs: the new one finds the guest where the old one left it.
 *
 * Threads: the guest runs on the thread that owns it (the Launcher's, the one that
 * wrote LHREQ_INITIALIZE). Other threads only raise interrupts, break the guest out,
 * or kill it, through the methods here that wake it.
 */
public final class Guest {
    private static final AtomicInteger NEXT_ID = new AtomicInteger(1);

    private final int id = NEXT_ID.getAndIncrement();
    /** Guest-physical memory (the Launcher's memory from the INITIALIZE base). */
    public final GuestMemory memory;
    /** The physical address space the guest's CPU sees: its RAM plus host pages. */
    public final PhysicalMemory bus;
    /** Frames at or above this are not the guest's. */
    public final int pfnLimit;
    /** The Launcher thread that created the guest: only it may run the guest. */
    public final Thread owner;

    public final TrapState traps = new TrapState();
    public final SegmentState segments = new SegmentState();
    public final PagingState paging = new PagingState();
    public final GuestStatistics statistics = new GuestStatistics();

    private volatile X86Cpu cpu;
    /** Which CPU factory made {@link #cpu}, so the switcher can tell a stale one. */
    public volatile Object cpuMaker;
    /**
     * Held by whoever uses or changes the guest's CPU: a turn of the run loop, a CPU
     * swap moving the guest to another CPU. It is the guest's, not a switcher's: while
     * one switcher replaces another, both know the guest, and the one going away must
     * not move the CPU under a turn of its successor.
     */
    private final ReentrantLock cpuLock = new ReentrantLock();

    /** Guest-physical address of struct lguest_data; 0 until LGUEST_INIT. */
    public int lguestData;
    /** Fields the guest gave in lguest_data, read once at LGUEST_INIT as lguest does. */
    public int noirqStart, noirqEnd, kernelAddress, syscallVector;

    /** Where the host looks next in the asynchronous hypercall ring (lguest's next_hcall). */
    public int nextHypercall;
    /** Set when the guest trapped with int 0x1f: a hypercall waits in the registers. */
    public boolean hypercallPending;
    /** A NOTIFY address for the Launcher, or 0. */
    public int pendingNotify;
    /** The guest asked to sleep (HALT) until an interrupt is pending. */
    public boolean halted;
    /** The guest's idea of CR0.TS (lazy FPU): #NM goes to it only if set. */
    public boolean taskSwitched;
    /** CR2 of the last page fault the CPU reported. */
    public int lastPageFault;
    /** When IRQ 0 fires, in System.nanoTime() terms; 0 while the clock is stopped. */
    public volatile long clockDeadline;

    private final AtomicInteger irqsPending = new AtomicInteger();
    private volatile String deadReason;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wakeup = lock.newCondition();
    private boolean breakOut;
    /** Counts wake() calls, so a sleeper can tell it was woken for any reason. */
    private long wakeups;

    public Guest(GuestMemory memory, PhysicalMemory bus, int pfnLimit, Thread owner) {
        this.memory = memory;
        this.bus = bus;
        this.pfnLimit = pfnLimit;
        this.owner = owner;
    }

    public int id() {
        return id;
    }

    public X86Cpu cpu() {
        return cpu;
    }

    /** The lock around every use of the guest's CPU (see the field). */
    public ReentrantLock cpuLock() {
        return cpuLock;
    }

    public void setCpu(X86Cpu cpu, Object maker) {
        this.cpu = cpu;
        this.cpuMaker = maker;
    }

    // ---- death ----

    /** Kills the guest with a reason, unless it is already dead. Returns true if it was this call. */
    public boolean kill(String reason) {
        lock.lock();
        try {
            if (deadReason != null) {
                return false;
            }
            deadReason = reason;
        } finally {
            lock.unlock();
        }
        wake();
        return true;
    }

    public boolean isDead() {
        return deadReason != null;
    }

    /** Why the guest died, or null while it lives. */
    public String deadReason() {
        return deadReason;
    }

    // ---- interrupts ----

    /** Marks guest IRQ {@code irq} pending and wakes the guest to take it. */
    public void raiseIrq(int irq) {
        irqsPending.getAndUpdate(bits -> bits | (1 << irq));
        wake();
    }

    public int pendingIrqs() {
        return irqsPending.get();
    }

    public void clearIrq(int irq) {
        irqsPending.getAndUpdate(bits -> bits & ~(1 << irq));
    }

    /** Makes a running CPU stop at the next instruction and a sleeping guest look again. */
    public void wake() {
        X86Cpu c = cpu;
        if (c != null) {
            c.interrupt();
        }
        lock.lock();
        try {
            wakeups++;
            wakeup.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Sleeps the guest's thread until {@link #wake()} is called for any reason or until
     * {@code deadlineNanos} (System.nanoTime(); 0 means no deadline). Returns at once if
     * the guest is dead, broken out, or has an interrupt pending. The caller looks again
     * at why it slept, so waking it for nothing is harmless.
     */
    public void sleep(long deadlineNanos) throws InterruptedException {
        lock.lock();
        try {
            long woken = wakeups;
            while (deadReason == null && !breakOut && irqsPending.get() == 0 && wakeups == woken) {
                if (deadlineNanos == 0) {
                    wakeup.await();
                } else {
                    long left = deadlineNanos - System.nanoTime();
                    if (left <= 0) {
                        return;
                    }
                    wakeup.awaitNanos(left);
                }
                if (deadlineNanos != 0 && deadlineNanos - System.nanoTime() <= 0) {
                    return;
                }
            }
        } finally {
            lock.unlock();
        }
    }

    // ---- LHREQ_BREAK ----

    /** BREAK "on": the guest leaves its run with EAGAIN; the caller waits until "off". */
    public void breakOut(long timeout, TimeUnit unit) throws InterruptedException {
        lock.lock();
        try {
            breakOut = true;
        } finally {
            lock.unlock();
        }
        wake();
        lock.lock();
        try {
            long left = unit.toNanos(timeout);
            while (breakOut && deadReason == null && left > 0) {
                left = wakeup.awaitNanos(left);
            }
        } finally {
            lock.unlock();
        }
    }

    /** BREAK "off": lets the guest run again and releases whoever broke it out. */
    public void clearBreak() {
        lock.lock();
        try {
            breakOut = false;
            wakeup.signalAll();
        } finally {
            lock.unlock();
        }
    }

    public boolean isBrokenOut() {
        return breakOut;
    }
}
