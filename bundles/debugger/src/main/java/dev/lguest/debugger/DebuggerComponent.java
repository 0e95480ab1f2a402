package dev.lguest.debugger;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.debug.GdbServer;
import dev.lguest.api.debug.GuestDebugger;
import dev.lguest.api.debug.StoppedGuest;
import dev.lguest.api.guest.Guest;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The debugger: a gdb stub per debugged guest (GdbSession), and the service the
 * switcher consults at those guests' exits. A guest gets a stub from the lguest:gdb
 * command or, through the Launcher's --gdb, as the switcher sets it up, before it runs.
 * A build without this bundle has no stub and the switcher asks no one (role
 * lguest.debugger in cnf/run/platform.bnd).
 */
@Component(service = {GuestDebugger.class, GdbServer.class})
public final class DebuggerComponent implements GuestDebugger, GdbServer {
    private final Map<Guest, GdbSession> sessions = new ConcurrentHashMap<>();
    /** The stub waiting for the next guest the switcher sets up (the Launcher's --gdb). */
    private volatile GdbSession armed;

    @Override
    public int attach(Guest guest, int port, boolean stop) throws IOException {
        if (guest.isDead()) {
            throw new IOException("guest " + guest.id() + " is dead");
        }
        if (sessions.containsKey(guest)) {
            throw new IOException("guest " + guest.id() + " already has a gdb stub on port " + portOf(guest));
        }
        GdbSession session = new GdbSession(port, stop, () -> sessions.remove(guest));
        sessions.put(guest, session);
        session.start(guest);
        return session.port();
    }

    @Override
    public int attachToNextGuest(int port, boolean stopBeforeFirstInstruction) throws IOException {
        GdbSession[] self = new GdbSession[1];
        GdbSession session = new GdbSession(port, stopBeforeFirstInstruction, () -> {
            Guest g = self[0].guest();
            if (g != null) {
                sessions.remove(g);
            }
        });
        self[0] = session;
        GdbSession old = armed;
        armed = session;
        if (old != null) {
            old.close();
        }
        return session.port();
    }

    @Override
    public int portOf(Guest guest) {
        GdbSession s = sessions.get(guest);
        return s == null ? -1 : s.port();
    }

    @Override
    public void guestSetUp(Guest guest) {
        GdbSession session = armed;
        if (session != null) {
            armed = null;
            sessions.put(guest, session);
            session.start(guest);
        }
    }

    @Override
    public void guestReleased(Guest guest) {
        GdbSession session = sessions.remove(guest);
        if (session != null) {
            session.guestEnded();
        }
    }

    @Override
    public boolean isAttached(Guest guest) {
        return !sessions.isEmpty() && sessions.containsKey(guest);
    }

    @Override
    public boolean stopRequested(Guest guest) {
        GdbSession s = sessions.get(guest);
        return s != null && s.stopWanted;
    }

    @Override
    public boolean holdsInterrupts(Guest guest) {
        GdbSession s = sessions.get(guest);
        return s != null && s.stepping;
    }

    @Override
    public boolean claims(Guest guest, int vector, CpuState state) {
        GdbSession s = sessions.get(guest);
        return s != null && s.claims(vector, state);
    }

    @Override
    public void holdStopped(Guest guest, StoppedGuest target) throws InterruptedException {
        GdbSession s = sessions.get(guest);
        if (s != null) {
            s.hold(target);
        }
    }

    /** The bundle goes: every stub closes, held guests run on with their breakpoints taken out. */
    @Deactivate
    void deactivate() {
        GdbSession a = armed;
        if (a != null) {
            a.close();
        }
        sessions.values().forEach(GdbSession::close);
    }
}
