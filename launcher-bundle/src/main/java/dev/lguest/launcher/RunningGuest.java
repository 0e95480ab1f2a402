package dev.lguest.launcher;

import dev.lguest.api.device.Errno;
import dev.lguest.api.device.LguestDevice;
import dev.lguest.api.device.LguestFile;
import dev.lguest.api.device.LguestRequest;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;
import dev.lguest.api.launcher.GuestOutcome;
import dev.lguest.api.launcher.GuestSession;
import dev.lguest.api.launcher.LauncherDevice;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.GuestMemoryFault;
import dev.lguest.api.memory.PhysicalMemory;

import dev.lguest.api.snapshot.GuestStateSection;
import dev.lguest.api.snapshot.SnapshotException;
import dev.lguest.api.snapshot.SnapshotFile;
import dev.lguest.api.snapshot.Snapshots;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Supplier;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One guest the Launcher runs: its thread, its /dev/lguest, and lguest's
 * run_guest loop on the Launcher side.
 *
 * The thread writes INITIALIZE and then reads, again and again. Each read runs the
 * guest until it NOTIFYs: an address below the top of RAM is the early console (a
 * NUL-terminated string the guest wants printed); an address at or above it names a
 * virtqueue, and its device serves it. A read that fails with EAGAIN means a device's
 * input thread broke us out (the Waker): the devices take their input, and BREAK 0
 * lets that thread go. When a read fails with ENOENT the guest is dead, and one more
 * read says why: "Power down" is a clean power-off. A guest killed while this thread
 * was not in a read (a device stopping it as it served input) answers the next read
 * with its reason straight away, as lguest_user.c does for a dead guest.
 *
 * Devices change hands on the thread that swaps their bundle ({@link
 * #reconcileDevices}), while the guest runs on; the new device then needs one input
 * service on this thread (keystrokes the old one held), so the swapping thread breaks
 * the guest out the way the Waker does, and the loop serves input once more.
 *
 * Snapshots use the same way in: a save from another thread breaks the guest out,
 * and this thread, with the guest stopped between two runs, takes it (see {@link
 * #save}) before it lets the saver go. A restored guest is set up by INITIALIZE like
 * a booted one, then its components read their sections back on this thread before
 * its first instruction.
 */
final class RunningGuest implements GuestSession {
    private static final System.Logger LOG = System.getLogger(RunningGuest.class.getName());
    private static final AtomicInteger THREADS = new AtomicInteger();
    /** How long a device swap waits for a device call of the guest's to end. */
    private static final long HANDOVER_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** The early console prints at most this much of one NOTIFY'd string. */
    private static final int EARLY_CONSOLE_MAX = 4096;

    /** Where the /dev/lguest bound now comes from (it may change under a running guest). */
    interface DeviceSource {
        /** The device bound now, waiting a while for one; null if none came. */
        LguestDevice current() throws InterruptedException;
    }

    private final DeviceSource deviceSource;
    private final MemorySegment launcherMemory;
    private final Arena arena;
    private final GuestLayout layout;
    private final int pgdir;
    private final int entry;
    private final PrintStream console;
    private final GuestDevices devices;
    private final LauncherDeviceHost deviceHost;
    private final CompletableFuture<GuestOutcome> outcome = new CompletableFuture<>();
    private final Thread thread;
    private final Runnable onEnd;
    private volatile LguestFile file;
    /** A device changed hands: the loop lets the devices take their input once more. */
    private volatile boolean inputAfterHandover;
    /** Saves waiting for the guest to stop between two runs (see {@link #save}). */
    private final ConcurrentLinkedQueue<Pause> pauses = new ConcurrentLinkedQueue<>();
    /** The component sections a save writes, and what the file says built it. */
    private volatile Supplier<List<GuestStateSection>> sections = List::of;
    private volatile String build = "lguest";
    /** A guest restored from a snapshot: its components' sections, read back after INITIALIZE. */
    private volatile GuestImage.Plan restorePlan;
    private final CompletableFuture<Void> restored = new CompletableFuture<>();

    /** A save asked for by another thread; the guest's thread takes the snapshot and completes it. */
    private record Pause(Path file, boolean thenStop, CompletableFuture<Captured> done) {
    }

    /** Work for the guest's thread between two runs (a migration's steps); it completes {@code done}. */
    interface GuestTask<T> {
        T run(Guest guest) throws SnapshotException;
    }

    private record Task(GuestTask<?> work, CompletableFuture<Object> done) {
    }

    /** Tasks waiting for the guest to stop between two runs (see {@link #onGuestThread}). */
    private final ConcurrentLinkedQueue<Task> tasks = new ConcurrentLinkedQueue<>();
    /** Set by a migration's last step: the guest ends because it runs elsewhere now (exit status 0). */
    private volatile String migratedTo;

    /** A snapshot taken: the guest as taken, how long it stood still, and the file's size if the guest's thread wrote it. */
    private record Captured(GuestImage.Capture capture, long pauseNanos, int ramPages, long writtenBytes) {
    }

    RunningGuest(DeviceSource deviceSource, MemorySegment launcherMemory, Arena arena, GuestLayout layout,
                 int pgdir, int entry, PrintStream console, GuestDevices devices, LauncherDeviceHost deviceHost) {
        this(deviceSource, launcherMemory, arena, layout, pgdir, entry, console, devices, deviceHost, () -> {
        });
    }

    /** {@code onEnd} runs on the guest's thread once the guest has ended and its devices are closed. */
    RunningGuest(DeviceSource deviceSource, MemorySegment launcherMemory, Arena arena, GuestLayout layout,
                 int pgdir, int entry, PrintStream console, GuestDevices devices, LauncherDeviceHost deviceHost,
                 Runnable onEnd) {
        this.onEnd = onEnd;
        this.deviceSource = deviceSource;
        this.launcherMemory = launcherMemory;
        this.arena = arena;
        this.layout = layout;
        this.pgdir = pgdir;
        this.entry = entry;
        this.console = console;
        this.devices = devices;
        this.deviceHost = deviceHost;
        this.thread = new Thread(this::runGuest, "lguest-guest-" + THREADS.incrementAndGet());
    }

    void start() {
        thread.start();
    }

    /** What saves of this guest write: the section services bound now, and the build's description. */
    void enableSnapshots(Supplier<List<GuestStateSection>> sections, String build) {
        this.sections = sections;
        this.build = build;
    }

    /** Makes this a restored guest: {@code plan}'s sections are read back once INITIALIZE has set it up. */
    void restoreFrom(GuestImage.Plan plan) {
        this.restorePlan = plan;
    }

    /** Waits until a restored guest has its components' state back, or says why it could not. */
    void awaitRestored() throws SnapshotException, InterruptedException {
        try {
            restored.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof SnapshotException s) {
                throw s;
            }
            throw new SnapshotException("the restore failed in the Launcher: " + e.getCause());
        }
    }

    private void runGuest() {
        GuestOutcome result;
        try {
            LguestDevice device = deviceSource.current();
            if (device == null) {
                result = new GuestOutcome(false, "no /dev/lguest device in this build");
            } else {
                use(device.open(launcherMemory));
                devices.setInterruptLine(irq -> call(f -> f.write(words(LguestRequest.IRQ, irq))));
                result = initializeAndRun();
            }
        } catch (InterruptedException e) {
            result = new GuestOutcome(false, "stopped by the Launcher");
        } catch (RuntimeException e) {
            // Nothing the guest does should get here; if something does, it is our bug,
            // and the guest is the one to pay, not the framework.
            LOG.log(System.Logger.Level.ERROR, "the Launcher failed running a guest", e);
            result = new GuestOutcome(false, "Launcher failure while running the guest");
        } finally {
            restored.completeExceptionally(new SnapshotException("the guest ended before its state was restored"));
            for (Pause p; (p = pauses.poll()) != null; ) {
                p.done().completeExceptionally(new SnapshotException("the guest ended before it could be saved"));
            }
            for (Task t; (t = tasks.poll()) != null; ) {
                t.done().completeExceptionally(new SnapshotException("the guest ended"));
            }
            LguestFile last = file;
            if (last != null) {
                last.close();
            }
            devices.close();
            console.flush();
            arena.close();
            onEnd.run();
        }
        outcome.complete(result);
    }

    private void use(LguestFile f) {
        file = f;
        deviceHost.attach(f);
    }

    /**
     * One call on /dev/lguest. ENODEV means the implementation behind our file was
     * replaced while the guest ran: the guest is untouched, so we ask the device bound
     * now to adopt it and make the call again there.
     */
    private long call(java.util.function.ToLongFunction<LguestFile> operation) {
        while (true) {
            LguestFile f = file;
            long result = operation.applyAsLong(f);
            if (result != -Errno.ENODEV || !adoptOnNewDevice(f)) {
                return result;
            }
        }
    }

    private synchronized boolean adoptOnNewDevice(LguestFile old) {
        if (file != old) {
            return true; // another thread (the interrupt line) already moved us
        }
        Guest g = old.guest();
        LguestDevice device;
        try {
            device = deviceSource.current();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        if (g == null || device == null) {
            return false;
        }
        use(device.adopt(g));
        old.close();
        return true;
    }

    /**
     * The --verbose line said as the guest is about to run its first instruction: how
     * long after the process started (what start-up work is measured by, see
     * benchmarks/startup-benchmark), and the moment itself in milliseconds since the
     * epoch, for a script that timed the command from before the JVM.
     */
    static String startupLine(Instant now) {
        String since = ProcessAge.now(now)
                .map(age -> age.toMillis() + " ms after the process started")
                .orElse("the process start unknown");
        return String.format("First guest instruction: %s (epoch ms %d)", since, now.toEpochMilli());
    }

    private GuestOutcome initializeAndRun() {
        ByteBuffer init = words(LguestRequest.INITIALIZE, 0,
                (int) (layout.totalBytes() / PhysicalMemory.PAGE_SIZE), pgdir, entry);
        long r = call(f -> f.write(init.duplicate()));
        if (r < 0) {
            return new GuestOutcome(false, "LHREQ_INITIALIZE failed: " + Errno.name(r));
        }
        GuestImage.Plan plan = restorePlan;
        if (plan != null) {
            restorePlan = null;
            try {
                GuestImage.restoreComponents(file.guest(), plan);
            } catch (SnapshotException e) {
                restored.completeExceptionally(e);
                return new GuestOutcome(false, e.getMessage());
            }
        }
        restored.complete(null);
        if (deviceHost.verbose()) {
            deviceHost.verbose(startupLine(Instant.now()));
        }
        GuestMemory memory = new GuestMemory(launcherMemory);
        ByteBuffer reply = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
        while (true) {
            if (!pauses.isEmpty() || !tasks.isEmpty()) {
                String stop = servePauses();
                if (stop != null) {
                    return new GuestOutcome(false, stop);
                }
            }
            if (inputAfterHandover) {
                inputAfterHandover = false;
                String problem = devices.serviceInput();
                if (problem != null) {
                    return new GuestOutcome(false, problem);
                }
            }
            if (guestDied()) {
                // Killed while we were not reading (a device stopped it while serving
                // input): the read would answer with the reason at once, not ENOENT.
                return outcomeOfDeath(reply);
            }
            reply.clear();
            long n = call(f -> f.read(reply));
            if (n == 4 && !guestDied()) {
                String problem = handleNotify(memory, reply.getInt(0));
                if (problem != null) {
                    return new GuestOutcome(false, problem);
                }
            } else if (n == -Errno.ENOENT || n > 0) {
                // ENOENT: it died running. A positive count that is not a NOTIFY (or one
                // that came with a dead guest) is already its reason: it died between
                // our look and the read.
                return outcomeOfDeath(reply);
            } else if (n == -Errno.EAGAIN) {
                inputAfterHandover = false;
                String problem = devices.serviceInput();
                String stop = pauses.isEmpty() && tasks.isEmpty() ? null : servePauses();
                // Release the Waker whatever happened, or it would wait for nothing.
                call(f -> f.write(words(LguestRequest.BREAK, 0)));
                if (problem != null) {
                    return new GuestOutcome(false, problem);
                }
                if (stop != null) {
                    return new GuestOutcome(false, stop);
                }
            } else if (n == -Errno.EINTR) {
                return new GuestOutcome(false, "stopped by the Launcher");
            } else {
                return new GuestOutcome(false, "reading /dev/lguest failed: " + Errno.name(n));
            }
        }
    }

    private boolean guestDied() {
        Guest g = file.guest();
        return g != null && g.isDead();
    }

    /**
     * How the dead guest ended: a read of a dead guest's /dev/lguest gives the reason.
     * "Power down" is a power-off; a guest its user stopped through a device
     * ({@link LauncherDeviceHost#stopGuest}) exits as lguest.c does then.
     */
    private GuestOutcome outcomeOfDeath(ByteBuffer reply) {
        reply.clear();
        long len = call(f -> f.read(reply));
        String reason = len > 0 ? cString(reply.array(), (int) len) : "unknown reason";
        if (deviceHost.stoppedByUser(reason)) {
            return GuestOutcome.stoppedByUser(reason);
        }
        if (reason.equals(migratedTo)) {
            return new GuestOutcome(false, reason, 0);
        }
        return new GuestOutcome(reason.equals(Lguest.POWER_DOWN), reason);
    }

    // ---- snapshots ----

    /**
     * Saves the guest to {@code file}, from another thread: the guest's thread is broken
     * out of the guest the way the Waker does it, takes the snapshot between two runs
     * (the CPU at an instruction boundary, no device call under way), and lets the
     * guest go on; this thread then writes the file. With {@code thenStop} the guest's
     * thread writes the file itself and the guest ends ("saved to FILE") without
     * running another instruction, so that nothing it does is lost from the file.
     */
    Snapshots.Saved save(Path target, boolean thenStop) throws SnapshotException, InterruptedException {
        if (Thread.currentThread() == thread) {
            throw new SnapshotException("a guest cannot be saved from its own thread");
        }
        Pause pause = new Pause(target, thenStop, new CompletableFuture<>());
        pauses.add(pause);
        breakOutUntil(pause.done(), () -> {
            pauses.remove(pause);
            pause.done().completeExceptionally(new SnapshotException("the guest ended before it could be saved"));
        });
        Captured captured;
        try {
            captured = pause.done().get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof SnapshotException s) {
                throw s;
            }
            throw new SnapshotException("the save failed in the Launcher: " + e.getCause());
        }
        long bytes = captured.writtenBytes();
        if (bytes < 0) {
            // The guest runs on: its memory as copied is compressed and written here.
            bytes = writeFile(target, captured.capture().contents());
        }
        return new Snapshots.Saved(target, bytes, captured.ramPages(), captured.pauseNanos());
    }

    /**
     * Breaks the guest out of its run, again and again, until its thread has completed
     * {@code done}; {@code ended} runs instead if the guest ends first.
     */
    private void breakOutUntil(CompletableFuture<?> done, Runnable ended) throws InterruptedException {
        while (!done.isDone()) {
            if (outcome.isDone()) {
                ended.run();
                break;
            }
            LguestFile f = file;
            Guest g = f == null ? null : f.guest();
            // Back once the guest's thread has served what waits (BREAK 0), or at once
            // if the guest is not set up yet or already gone.
            long r = g == null ? -1 : f.write(words(LguestRequest.BREAK, 1));
            if (r < 0 && !done.isDone()) {
                Thread.sleep(1);
            }
        }
    }

    /**
     * Runs {@code work} on the guest's thread with the guest stopped between two runs
     * (the CPU at an instruction boundary, no device call under way), from another
     * thread, and returns what it returned; the guest then runs on.
     */
    @SuppressWarnings("unchecked")
    <T> T onGuestThread(GuestTask<T> work) throws SnapshotException, InterruptedException {
        if (Thread.currentThread() == thread) {
            throw new SnapshotException("the guest's own thread cannot stop it");
        }
        Task task = new Task(work, new CompletableFuture<>());
        tasks.add(task);
        breakOutUntil(task.done(), () -> {
            tasks.remove(task);
            task.done().completeExceptionally(new SnapshotException("the guest ended"));
        });
        try {
            return (T) task.done().get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof SnapshotException s) {
                throw s;
            }
            throw new SnapshotException("the Launcher failed with the stopped guest: " + e.getCause());
        }
    }

    /** A migration's last step: the guest ends here, for {@code reason}, because it runs on at the destination. */
    void endMigrated(Guest guest, String reason) {
        migratedTo = reason;
        guest.kill(reason);
    }

    /** What a migration needs of this guest: its memory, layout and devices, its boot words and sections. */
    MemorySegment memory() {
        return launcherMemory;
    }

    GuestImage.Capture captureState(Guest guest) throws SnapshotException {
        return GuestImage.capture(guest, null, layout, pgdir, entry, devices, sections.get(), build);
    }

    GuestDevices devices() {
        return devices;
    }

    /** The guest's memory size, as its Launcher laid it out (without the device pages above it). */
    long memoryBytes() {
        return layout.memoryBytes;
    }

    /** On the guest's thread, the guest stopped: takes every snapshot asked for. Returns why the guest stops, or null. */
    private String servePauses() {
        for (Task t; (t = tasks.poll()) != null; ) {
            try {
                Guest g = file.guest();
                if (g == null || g.isDead()) {
                    throw new SnapshotException("the guest is not running");
                }
                t.done().complete(t.work().run(g));
            } catch (SnapshotException e) {
                t.done().completeExceptionally(e);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "the Launcher failed with a stopped guest", e);
                t.done().completeExceptionally(new SnapshotException("the Launcher failed with the stopped guest: " + e));
            }
        }
        String stop = null;
        for (Pause p; (p = pauses.poll()) != null; ) {
            long start = System.nanoTime();
            try {
                Guest g = file.guest();
                if (g == null || g.isDead()) {
                    throw new SnapshotException("the guest is not running");
                }
                GuestImage.Capture capture = GuestImage.capture(g, launcherMemory, layout, pgdir, entry, devices,
                        sections.get(), build);
                if (p.thenStop()) {
                    long bytes = writeFile(p.file(), capture.contents());
                    stop = "saved to " + p.file();
                    g.kill(stop);
                    p.done().complete(new Captured(null, System.nanoTime() - start, capture.ramPages(), bytes));
                } else {
                    p.done().complete(new Captured(capture, System.nanoTime() - start, capture.ramPages(), -1));
                }
            } catch (SnapshotException e) {
                p.done().completeExceptionally(e);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "saving a guest failed", e);
                p.done().completeExceptionally(new SnapshotException("the save failed in the Launcher: " + e));
            }
        }
        return stop;
    }

    private static long writeFile(Path target, SnapshotFile.Contents contents) throws SnapshotException {
        try {
            return SnapshotFile.write(target, contents);
        } catch (IOException e) {
            throw new SnapshotException("cannot write the snapshot " + target + ": " + e.getMessage());
        }
    }

    /** Serves one NOTIFY; returns a reason to stop the guest, or null to carry on. */
    private String handleNotify(GuestMemory memory, int address) {
        long addr = Integer.toUnsignedLong(address);
        if (addr < layout.memoryBytes) {
            try {
                String text = memory.readCString(addr, (int) Math.min(EARLY_CONSOLE_MAX, layout.memoryBytes - addr));
                console.print(text);
                console.flush();
                return null;
            } catch (GuestMemoryFault e) {
                return String.format("bad early console address %#x", addr);
            }
        }
        if (deviceHost.verbose()) {
            String name = devices.nameOf(addr);
            deviceHost.verbose(String.format("Notify on address %#x%s", addr, name == null ? "" : ", output to " + name));
        }
        return devices.notify(addr);
    }

    private static String cString(byte[] bytes, int length) {
        int end = 0;
        while (end < length && bytes[end] != 0) {
            end++;
        }
        return new String(bytes, 0, end, StandardCharsets.UTF_8);
    }

    static ByteBuffer words(int... words) {
        ByteBuffer b = ByteBuffer.allocate(words.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int w : words) {
            b.putInt(w);
        }
        return b.flip();
    }

    /**
     * The device services bound now are {@code bound}: every device of this guest
     * whose service is gone passes to a bound one of its type, on this thread, while
     * the guest runs on. Returns once the hand-overs are done (or failed, the old
     * device still running) and the guest's thread has given the new devices their
     * first input service.
     */
    void reconcileDevices(List<LauncherDevice> bound) {
        int handed;
        try {
            handed = devices.handOverUnbound(bound, deviceHost, HANDOVER_WAIT_NANOS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (handed > 0) {
            inputAfterHandover = true;
            // The Waker's BREAK: back once the guest's thread has served input. Before
            // the guest exists, or on the guest's own thread, it returns at once, and
            // the loop serves the input at its next turn.
            deviceHost.wakeGuest();
        }
    }

    @Override
    public Optional<Guest> guest() {
        LguestFile f = file;
        return f == null ? Optional.empty() : Optional.ofNullable(f.guest());
    }

    @Override
    public Optional<GuestOutcome> await(Duration timeout) throws InterruptedException {
        try {
            return Optional.of(outcome.get(timeout.toNanos(), TimeUnit.NANOSECONDS));
        } catch (TimeoutException e) {
            return Optional.empty();
        } catch (ExecutionException e) {
            LOG.log(System.Logger.Level.ERROR, "the Launcher failed running a guest", e.getCause());
            return Optional.of(new GuestOutcome(false, "Launcher failure while running the guest"));
        }
    }

    @Override
    public void stop() {
        guest().ifPresent(g -> g.kill("stopped by the Launcher"));
        thread.interrupt();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
