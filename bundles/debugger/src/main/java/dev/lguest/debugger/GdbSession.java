package dev.lguest.debugger;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.debug.StoppedGuest;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.Lguest;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;

/**
 * One debugged guest: the port gdb connects to (loopback only), the connection, and
 * the hand-shake between gdb's requests and the guest's thread.
 *
 * All-stop, as gdb's remote protocol is: gdb talks to a stopped guest. The guest's
 * thread stops at an instruction boundary when the switcher finds a stop requested
 * (gdb connecting, Ctrl-C, the Launcher's --gdb-wait) or a #DB or #BP this session
 * claimed (a breakpoint, watchpoint or step of gdb's); it parks in {@link #hold} until
 * gdb lets it go (c, s, vCont, D) or kills it. Meanwhile the connection's thread
 * answers gdb's packets against the stopped guest. When gdb goes away without a
 * detach, the guest is stopped once more to take the breakpoints out, and runs on.
 *
 * Threads: an acceptor (one connection at a time; it also notices the guest's death
 * and tells a waiting gdb) and the connection's reader. The lock guards the fields
 * they share with the guest's thread.
 */
final class GdbSession implements GdbCommands.Control {
    static final int SIGINT = 2, SIGTRAP = 5;
    private static final int POLL_MILLIS = 200;
    private static final System.Logger LOG = System.getLogger(GdbSession.class.getName());

    private final ServerSocket server;
    private final Object lock = new Object();
    private final boolean stopFirst;
    /** Set once, by the component, when the guest exists (at once, or at its set-up for --gdb). */
    private volatile Guest guest;
    private volatile Breakpoints breakpoints;
    private volatile GdbCommands commands;

    /** The switcher should stop the guest at its next boundary. */
    volatile boolean stopWanted;
    /** gdb single-steps: no interrupts are delivered meanwhile. */
    volatile boolean stepping;
    private volatile boolean closed;

    // Guarded by lock.
    private StoppedGuest held;
    private boolean resumeGranted;
    private boolean awaitingStop;
    private int requestedSignal = SIGTRAP;
    private String claimedReply;
    private boolean claimedSoftwareBreak;
    private String lastStop = GdbCommands.stopReply(SIGTRAP, null);
    private RemotePackets connection;
    private Socket socket;
    /** The connection is gone without a detach: take the breakpoints out at the next stop. */
    private boolean cleanUpWanted;

    /** Told when the session ends (the guest died, or the debugger closed it). */
    private final Runnable ended;

    GdbSession(int port, boolean stopFirst, Runnable ended) throws IOException {
        this.server = new ServerSocket(port, 1, InetAddress.getLoopbackAddress());
        this.stopFirst = stopFirst;
        this.ended = ended;
    }

    int port() {
        return server.getLocalPort();
    }

    Guest guest() {
        return guest;
    }

    /** The guest is known now: start listening for gdb (stopping it first if asked). */
    void start(Guest g) {
        this.breakpoints = new Breakpoints(g.memory);
        this.commands = new GdbCommands(g.memory, breakpoints);
        this.guest = g;
        if (stopFirst) {
            requestStop(SIGTRAP);
        }
        Thread acceptor = new Thread(this::accept, "lguest-gdb-" + g.id());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Stops the guest at its next boundary, unless it is held already (then it stays as it is). */
    private void requestStop(int signal) {
        synchronized (lock) {
            if (held != null) {
                return;
            }
            requestedSignal = signal;
            stopWanted = true;
        }
        Guest g = guest;
        if (g != null) {
            g.wake();
        }
    }

    // ---- the guest's thread ----

    /** A #DB or #BP of the guest: ours if it is a breakpoint, watchpoint or step of gdb's. */
    boolean claims(int vector, CpuState state) {
        Breakpoints b = breakpoints;
        String reply = null;
        boolean softwareBreak = false;
        if (vector == X86.BP && b.isSoftware(state.eip - 1)) {
            reply = GdbCommands.stopReply(SIGTRAP, "swbreak:;");
            softwareBreak = true;
        } else if (vector == X86.DB) {
            int dr6 = state.debugRegisters[6];
            Breakpoints.Slot hit = b.hit(dr6);
            if (hit != null) {
                String where = Integer.toHexString(hit.address()) + ";";
                reply = GdbCommands.stopReply(SIGTRAP, switch (hit.type()) {
                    case Breakpoints.SOFTWARE -> "swbreak:;";
                    case Breakpoints.HARDWARE -> "hwbreak:;";
                    case Breakpoints.WRITE_WATCH -> "watch:" + where;
                    case Breakpoints.READ_WATCH -> "rwatch:" + where;
                    default -> "awatch:" + where;
                });
            } else if ((dr6 & X86.DR6_BS) != 0 && stepping) {
                reply = GdbCommands.stopReply(SIGTRAP, null);
            }
        }
        if (reply == null) {
            return false;
        }
        synchronized (lock) {
            claimedReply = reply;
            claimedSoftwareBreak = softwareBreak;
        }
        stopWanted = true;
        return true;
    }

    /** The guest stopped for us: tell gdb, wait until it lets the guest go. */
    void hold(StoppedGuest target) throws InterruptedException {
        Guest g = guest;
        synchronized (lock) {
            stopWanted = false;
            CpuState s = target.state();
            if (claimedSoftwareBreak) {
                // INT3 trapped past itself: gdb wants the PC at the breakpoint (swbreak).
                s.eip -= 1;
            }
            if (stepping) {
                s.eflags &= ~X86.TF;
                stepping = false;
            }
            s.debugRegisters[6] = 0;
            if (cleanUpWanted && connection == null) {
                breakpoints.clear(s);
                cleanUpWanted = false;
                claimedReply = null;
                claimedSoftwareBreak = false;
                target.setState(s);
                return;
            }
            target.setState(s);
            lastStop = claimedReply != null ? claimedReply : GdbCommands.stopReply(requestedSignal, null);
            claimedReply = null;
            claimedSoftwareBreak = false;
            requestedSignal = SIGTRAP;
            resumeGranted = false;
            held = target;
            if (awaitingStop && connection != null) {
                awaitingStop = false;
                send(lastStop);
            }
            lock.notifyAll();
            try {
                while (!resumeGranted && !g.isDead() && !closed && !(cleanUpWanted && connection == null)) {
                    lock.wait(POLL_MILLIS);
                }
                if ((cleanUpWanted && connection == null || closed) && !resumeGranted) {
                    CpuState left = target.state();
                    breakpoints.clear(left);
                    target.setState(left);
                    cleanUpWanted = false;
                }
            } finally {
                held = null;
            }
        }
    }

    // ---- gdb's side ----

    @Override
    public void resume(boolean step) {
        synchronized (lock) {
            CpuState s = held.state();
            // RF: the instruction at the PC runs once without hitting its hardware breakpoint.
            s.eflags |= X86.RF;
            if (step) {
                s.eflags |= X86.TF;
            }
            breakpoints.program(s);
            held.setState(s);
            stepping = step;
            awaitingStop = true;
            resumeGranted = true;
            lock.notifyAll();
        }
    }

    @Override
    public void detach() {
        synchronized (lock) {
            CpuState s = held.state();
            breakpoints.clear(s);
            s.eflags &= ~X86.TF;
            held.setState(s);
            stepping = false;
            awaitingStop = false;
            resumeGranted = true;
            lock.notifyAll();
        }
    }

    @Override
    public void kill() {
        guest.kill("killed by gdb");
        synchronized (lock) {
            awaitingStop = false;
            lock.notifyAll();
        }
    }

    /** The guest held for gdb, stopping it first if it runs; null once it is dead or we close. */
    private StoppedGuest awaitHeld() throws InterruptedException {
        synchronized (lock) {
            if (held == null && !awaitingStop) {
                requestedSignal = SIGTRAP;
                stopWanted = true;
                guest.wake();
            }
            while (held == null && !guest.isDead() && !closed) {
                lock.wait(POLL_MILLIS);
            }
            return held;
        }
    }

    private void accept() {
        try (server) {
            server.setSoTimeout(POLL_MILLIS);
            while (!closed && !guest.isDead()) {
                Socket s;
                try {
                    s = server.accept();
                } catch (SocketTimeoutException e) {
                    continue;
                }
                serve(s);
            }
        } catch (IOException e) {
            if (!closed) {
                LOG.log(System.Logger.Level.WARNING, "gdb stub of guest " + guest.id() + " stopped: " + e.getMessage());
            }
        } finally {
            closed = true;
            synchronized (lock) {
                lock.notifyAll();
            }
            ended.run();
        }
    }

    /** One gdb connection, until it ends; the guest's death ends it with W00 or X09. */
    private void serve(Socket s) throws IOException {
        s.setTcpNoDelay(true);
        RemotePackets packets = new RemotePackets(s.getInputStream(), s.getOutputStream());
        synchronized (lock) {
            connection = packets;
            socket = s;
            cleanUpWanted = false;
        }
        Thread reader = new Thread(() -> read(packets), "lguest-gdb-" + guest.id() + "-connection");
        reader.setDaemon(true);
        reader.start();
        try {
            while (reader.isAlive()) {
                reader.join(POLL_MILLIS);
                if (guest.isDead() || closed) {
                    synchronized (lock) {
                        if (connection == packets) {
                            send(deathReply());
                        }
                    }
                    s.close();
                    reader.join();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            s.close();
        }
    }

    private void read(RemotePackets packets) {
        try {
            requestStop(SIGTRAP);
            String packet;
            while ((packet = packets.read()) != null) {
                if (packet.equals(RemotePackets.INTERRUPT)) {
                    requestStop(SIGINT);
                    continue;
                }
                StoppedGuest target = awaitHeld();
                if (target == null) {
                    break;
                }
                String reply = commands.handle(packet, target, lastStopReply(), this);
                if (reply != null) {
                    packets.write(reply);
                    if (packet.equals("QStartNoAckMode")) {
                        packets.stopAcknowledging();
                    }
                }
                if (packet.startsWith("D") || packet.equals("k") || guest.isDead()) {
                    break;
                }
            }
        } catch (IOException | RemotePackets.Malformed e) {
            // A broken or hostile connection ends; the guest goes on.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            synchronized (lock) {
                if (connection == packets) {
                    connection = null;
                    socket = null;
                    awaitingStop = false;
                    // Breakpoints left in: take them out at the next stop (now, if held).
                    cleanUpWanted = true;
                    if (held == null) {
                        stopWanted = true;
                        guest.wake();
                    }
                    lock.notifyAll();
                }
            }
        }
    }

    private String lastStopReply() {
        synchronized (lock) {
            return lastStop;
        }
    }

    /** Sends a packet to gdb if it is connected; a failed send ends nothing but the connection. */
    private void send(String reply) {
        RemotePackets c = connection;
        if (c == null) {
            return;
        }
        try {
            c.write(reply);
        } catch (IOException e) {
            closeConnection();
        }
    }

    private void closeConnection() {
        Socket s = socket;
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // Closing a broken socket.
            }
        }
    }

    /** What gdb is told when the guest ends: exited normally (a power-off) or killed. */
    private String deathReply() {
        String reason = guest.deadReason();
        return reason != null && reason.startsWith(Lguest.POWER_DOWN) ? "W00" : "X09";
    }

    /** The guest is gone (the switcher released it): gdb hears it now, before the host may exit. */
    void guestEnded() {
        synchronized (lock) {
            if (connection != null) {
                send(deathReply());
                connection = null;
            }
        }
        close();
    }

    /** The debugger goes: gdb is told the guest is gone, the guest runs on untouched. */
    void close() {
        closed = true;
        stopWanted = false;
        synchronized (lock) {
            lock.notifyAll();
        }
        closeConnection();
        try {
            server.close();
        } catch (IOException ignored) {
            // Already closed.
        }
    }
}
