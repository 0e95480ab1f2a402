// Translation off the guest's thread. A block that became hot is queued here and the
// guest goes on interpreting it; one daemon thread per JVM turns queued blocks into
// compiled code and publishes each into its Block (release store), where the guest's
// thread finds it the next time the block runs (acquire load). Defining a hidden class
// and the ClassFile API's work cost tens to hundreds of microseconds a block, which a
// short-lived program (a Linux boot, a fork+exec) otherwise pays on its own thread.
//
// Why this stays exact: a translation depends only on the block's decoded
// instructions, which never change after decoding; a block dropped meanwhile (its page
// written, remapped) is simply never run again, whether compiled or not. The queue is
// bounded: a block that finds it full goes back to counting runs and is queued again
// later. The thread has a low priority: on a machine with few cores the guest's own
// thread and HotSpot's compilers come first. It ends after a few idle seconds and is
// started again by the next hot block, so an uninstalled translator bundle leaves no
// thread behind holding its class loader.
//
// Work nobody can use is skipped: a block whose guest has ended (its RAM's arena
// closed) is not translated, so short-lived machines cannot pile up a backlog ahead of
// a running guest's blocks. When the bundle stops (stop(), from the factory's
// deactivation) the queue is emptied and nothing is queued again: a CPU of the old
// revision may run on until the platform hands the guest to a new CPU, but by then
// the revision's class loader may no longer load the classes a translation needs.
package dev.lguest.cpu.interpreter;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

final class BackgroundCompiler {
    /** Set in a Block while it waits in the queue or is being translated. */
    static final CompiledBlock QUEUED = new CompiledBlock.Marker("queued");
    /** Blocks waiting at most; beyond that the guest's thread does not wait, it skips. */
    static final int QUEUE_LENGTH = 4096;

    static final VarHandle TRANSLATION;

    static {
        try {
            TRANSLATION = MethodHandles.lookup().findVarHandle(Block.class, "translation", CompiledBlock.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** A queued block and the CPU whose translation set it joins. */
    private record Job(Block block, Translations owner, LinearMemory memory) {
    }

    private static final BlockingQueue<Job> QUEUE = new ArrayBlockingQueue<>(QUEUE_LENGTH);
    /** How long the thread waits for work before it ends. */
    private static final long IDLE_MILLIS = 3000;
    /** The running thread, or null; read and written under the class's lock. */
    private static Thread worker;
    /** Set once the bundle stops: nothing is queued after that. */
    private static volatile boolean stopped;

    private BackgroundCompiler() {
    }

    /** Queues a hot block; false if the queue is full (the block stays as it was). */
    static boolean submit(Block block, Translations owner, LinearMemory memory) {
        if (stopped) {
            return false;
        }
        TRANSLATION.setRelease(block, QUEUED);
        if (!QUEUE.offer(new Job(block, owner, memory))) {
            TRANSLATION.setRelease(block, null);
            return false;
        }
        startWorker();
        return true;
    }

    /** After a job was queued: a thread that is ending checks the queue under the same lock. */
    private static void startWorker() {
        synchronized (BackgroundCompiler.class) {
            if (worker == null && !stopped) {
                Thread thread = new Thread(BackgroundCompiler::work, "lguest-jit-compiler");
                thread.setDaemon(true);
                thread.setPriority(Thread.MIN_PRIORITY);
                thread.start();
                worker = thread;
            }
        }
    }

    /** The bundle has started (again): blocks may be queued. */
    static void start() {
        stopped = false;
    }

    /**
     * The bundle is stopping: queued blocks go back to counting runs (they will be
     * interpreted), nothing is queued any more, and the thread ends.
     */
    static void stop() {
        stopped = true;
        Thread running;
        synchronized (BackgroundCompiler.class) {
            running = worker;
        }
        for (Job job; (job = QUEUE.poll()) != null; ) {
            TRANSLATION.compareAndSet(job.block(), QUEUED, null);
        }
        if (running != null) {
            running.interrupt();
        }
    }

    private static void work() {
        try {
            BlockTranslator translator = null;
            while (true) {
                Job job;
                try {
                    job = stopped ? null : QUEUE.poll(IDLE_MILLIS, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    job = null;
                }
                if (job == null) {
                    synchronized (BackgroundCompiler.class) {
                        if (stopped || QUEUE.isEmpty()) {
                            worker = null; // under the lock submit's startWorker takes
                            return;
                        }
                    }
                    continue;
                }
                if (!job.memory().ram.scope().isAlive()) {
                    // The guest is gone: its block will never run again.
                    TRANSLATION.compareAndSet(job.block(), QUEUED, null);
                    continue;
                }
                CompiledBlock result;
                try {
                    if (translator == null) {
                        translator = new BlockTranslator();
                    }
                    result = translator.translate(job.block(), job.memory());
                } catch (RuntimeException | LinkageError | AssertionError | StackOverflowError e) {
                    // The block stays interpreted; so does a block that meets a
                    // translator whose bundle has gone (its classes no longer load).
                    result = TranslatingCpu.NOT_COMPILED;
                }
                // Only a block still waiting takes the result: a flush of the CPU's
                // translations in the meantime reset it, and then it starts counting again.
                if (TRANSLATION.compareAndSet(job.block(), QUEUED, result) && result != TranslatingCpu.NOT_COMPILED) {
                    job.owner().added(job.block());
                }
            }
        } finally {
            // However the thread ends, the next hot block starts another.
            synchronized (BackgroundCompiler.class) {
                if (worker == Thread.currentThread()) {
                    worker = null;
                }
            }
        }
    }
}
