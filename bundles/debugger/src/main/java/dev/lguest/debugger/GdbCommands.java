package dev.lguest.debugger;

import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.debug.StoppedGuest;
import dev.lguest.api.memory.GuestMemory;

import java.nio.charset.StandardCharsets;

/**
 * The packets of GDB's remote protocol that a stopped i386 guest answers: the
 * queries gdb starts with (qSupported, the target description by qXfer, the one
 * thread), registers (g, G, p, P), memory by guest-virtual address (m, M, X), the
 * breakpoints and watchpoints (Z0-Z4, z0-z4), and the requests that let the guest go
 * again (c, s, vCont, D, k), which the session carries out through {@link Control}.
 *
 * Memory goes through the guest's own page tables to guest-physical addresses inside
 * the guest's RAM, and nowhere else: an address that maps to nothing of the guest's is
 * an error reply (E01), never a look at host memory. A request that does not parse is
 * E02; a packet we do not know gets the empty reply, as the protocol says.
 */
final class GdbCommands {
    /** What the session does for a request that lets the guest go on. */
    interface Control {
        void resume(boolean step);

        void detach();

        void kill();
    }

    static final String OK = "OK", UNMAPPED = "E01", BAD_REQUEST = "E02", NO_ROOM = "E03";
    /** The most memory one m packet reads: twice that in hex fits in a packet. */
    static final int MAX_READ = RemotePackets.MAX_PACKET / 2 - 16;

    private final GuestMemory memory;
    private final Breakpoints breakpoints;

    GdbCommands(GuestMemory memory, Breakpoints breakpoints) {
        this.memory = memory;
        this.breakpoints = breakpoints;
    }

    /**
     * The reply to one packet from gdb while the guest is stopped, or null when there
     * is none now (the guest goes on: the stop reply comes when it stops again, or
     * kill, which has no reply). Never throws for what gdb sends.
     */
    String handle(String packet, StoppedGuest guest, String lastStop, Control control) {
        try {
            return dispatch(packet, guest, lastStop, control);
        } catch (Hex.BadRequest | RemotePackets.Malformed | IndexOutOfBoundsException | NumberFormatException e) {
            return BAD_REQUEST;
        }
    }

    private String dispatch(String p, StoppedGuest guest, String lastStop, Control control) {
        if (p.isEmpty()) {
            return "";
        }
        switch (p.charAt(0)) {
            case '?':
                return lastStop;
            case 'g':
                return I386Registers.all(guest.state());
            case 'G': {
                CpuState s = guest.state();
                I386Registers.setAll(s, Hex.parseBytes(p.substring(1)));
                guest.setState(s);
                return OK;
            }
            case 'p': {
                int n = Hex.parseInt(p.substring(1));
                return n >= 0 && n < I386Registers.COUNT ? I386Registers.one(guest.state(), n) : BAD_REQUEST;
            }
            case 'P': {
                int eq = p.indexOf('=');
                int n = Hex.parseInt(p.substring(1, eq));
                CpuState s = guest.state();
                I386Registers.set(s, n, Hex.parseBytes(p.substring(eq + 1)));
                guest.setState(s);
                return OK;
            }
            case 'm': {
                int comma = p.indexOf(',');
                int address = Hex.parseInt(p.substring(1, comma));
                int length = Hex.parseInt(p.substring(comma + 1));
                if (length < 0 || length > MAX_READ) {
                    return BAD_REQUEST;
                }
                byte[] data = new byte[length];
                int read = readVirtual(guest, address, data);
                return read == 0 && length > 0 ? UNMAPPED : Hex.bytes(data, 0, read);
            }
            case 'M': {
                int comma = p.indexOf(',');
                int colon = p.indexOf(':');
                int address = Hex.parseInt(p.substring(1, comma));
                int length = Hex.parseInt(p.substring(comma + 1, colon));
                byte[] data = Hex.parseBytes(p.substring(colon + 1));
                return data.length != length ? BAD_REQUEST : writeVirtual(guest, address, data) ? OK : UNMAPPED;
            }
            case 'X': {
                int comma = p.indexOf(',');
                int colon = p.indexOf(':');
                int address = Hex.parseInt(p.substring(1, comma));
                int length = Hex.parseInt(p.substring(comma + 1, colon));
                byte[] data = RemotePackets.unescape(p, colon + 1);
                return data.length != length ? BAD_REQUEST : writeVirtual(guest, address, data) ? OK : UNMAPPED;
            }
            case 'c', 'C':
                control.resume(false);
                return null;
            case 's', 'S':
                control.resume(true);
                return null;
            case 'D':
                control.detach();
                return OK;
            case 'k':
                control.kill();
                return null;
            case 'H', 'T':
                return OK;
            case 'Z', 'z':
                return breakpoint(p, guest);
            case 'q':
                return query(p);
            case 'Q':
                return p.equals("QStartNoAckMode") ? OK : "";
            case 'v':
                return verbose(p, control);
            default:
                return "";
        }
    }

    private String query(String p) {
        if (p.startsWith("qSupported")) {
            return "PacketSize=" + Integer.toHexString(RemotePackets.MAX_PACKET)
                    + ";qXfer:features:read+;swbreak+;hwbreak+;vContSupported+;QStartNoAckMode+";
        }
        if (p.startsWith("qXfer:features:read:target.xml:")) {
            String range = p.substring("qXfer:features:read:target.xml:".length());
            int comma = range.indexOf(',');
            int offset = Hex.parseInt(range.substring(0, comma));
            int length = Hex.parseInt(range.substring(comma + 1));
            byte[] xml = I386Registers.TARGET_XML.getBytes(StandardCharsets.ISO_8859_1);
            if (offset < 0 || length < 0 || offset > xml.length) {
                return BAD_REQUEST;
            }
            int end = (int) Math.min(xml.length, (long) offset + Math.min(length, MAX_READ));
            String chunk = new String(xml, offset, end - offset, StandardCharsets.ISO_8859_1);
            return (end == xml.length ? "l" : "m") + chunk;
        }
        if (p.startsWith("qXfer:")) {
            return "E00";
        }
        return switch (p) {
            case "qC" -> "QC1";
            case "qfThreadInfo" -> "m1";
            case "qsThreadInfo" -> "l";
            case "qAttached" -> "1";
            case "qSymbol::" -> OK;
            default -> "";
        };
    }

    private String verbose(String p, Control control) {
        if (p.equals("vCont?")) {
            return "vCont;c;C;s;S";
        }
        if (p.startsWith("vCont;")) {
            // Actions for threads, the first that applies to ours wins; there is one thread.
            String action = p.substring("vCont;".length()).split(";")[0];
            switch (action.isEmpty() ? ' ' : action.charAt(0)) {
                case 'c', 'C' -> control.resume(false);
                case 's', 'S' -> control.resume(true);
                default -> {
                    return BAD_REQUEST;
                }
            }
            return null;
        }
        if (p.equals("vMustReplyEmpty")) {
            return "";
        }
        if (p.startsWith("vKill")) {
            control.kill();
            return OK;
        }
        return "";
    }

    private String breakpoint(String p, StoppedGuest guest) {
        boolean insert = p.charAt(0) == 'Z';
        String[] fields = p.substring(1).split("[,;]");
        int type = Hex.parseInt(fields[0]);
        int address = Hex.parseInt(fields[1]);
        int kind = Hex.parseInt(fields[2]);
        if (type == Breakpoints.SOFTWARE) {
            if (insert) {
                if (!breakpoints.insertSoftware(guest, address)) {
                    return NO_ROOM;
                }
            } else {
                breakpoints.removeSoftware(address);
            }
            // An unmapped address took a debug register: the CPU must have it.
            CpuState s = guest.state();
            breakpoints.program(s);
            guest.setState(s);
            return OK;
        }
        if (type > Breakpoints.ACCESS_WATCH) {
            return "";
        }
        boolean done = insert ? breakpoints.insertHardware(type, address, kind) : breakpoints.removeHardware(type, address);
        if (!done && insert) {
            return NO_ROOM;
        }
        CpuState s = guest.state();
        breakpoints.program(s);
        guest.setState(s);
        return OK;
    }

    /**
     * Reads guest-virtual memory page by page through the guest's page tables; returns
     * how many bytes from the start could be read (stopping at the first unmapped page),
     * with the originals shown under software breakpoints.
     */
    int readVirtual(StoppedGuest guest, int address, byte[] into) {
        int done = 0;
        while (done < into.length) {
            int virtual = address + done;
            int chunk = Math.min(into.length - done, 4096 - (virtual & 0xfff));
            long physical = guest.guestPhysical(virtual);
            if (physical < 0 || !memory.contains(physical, chunk)) {
                break;
            }
            memory.read(physical, into, done, chunk);
            breakpoints.shadow(physical, into, done, chunk);
            done += chunk;
        }
        return done;
    }

    /** Writes guest-virtual memory, all or nothing: false if any page maps to nothing of the guest's. */
    boolean writeVirtual(StoppedGuest guest, int address, byte[] data) {
        long[] physical = new long[data.length];
        for (int i = 0; i < data.length; i++) {
            int virtual = address + i;
            if (i == 0 || (virtual & 0xfff) == 0) {
                long page = guest.guestPhysical(virtual);
                if (page < 0 || !memory.contains(page, 1)) {
                    return false;
                }
                physical[i] = page;
            } else {
                physical[i] = physical[i - 1] + 1;
                if (!memory.contains(physical[i], 1)) {
                    return false;
                }
            }
        }
        for (int i = 0; i < data.length; i++) {
            if (!breakpoints.writeUnder(physical[i], data[i])) {
                memory.write8(physical[i], data[i]);
            }
        }
        return true;
    }

    /** The stop reply for a stop of the given kind (signal 5 or 2, with gdb's reason). */
    static String stopReply(int signal, String reason) {
        return "T" + Hex.byteHex(signal) + (reason == null ? "" : reason) + "thread:1;";
    }

    /** Whether EFLAGS has the trap flag (for the session's single-step). */
    static boolean tracing(CpuState s) {
        return (s.eflags & X86.TF) != 0;
    }
}
