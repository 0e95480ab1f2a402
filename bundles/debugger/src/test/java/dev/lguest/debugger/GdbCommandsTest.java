// Every request of the stub against a fake stopped guest: registers in gdb's i386
// order, memory through the guest's mapping only (E01 outside it), breakpoints as
// INT3 bytes hidden from memory reads or as debug registers, and malformed requests
// answered with an error, never an exception.
package dev.lguest.debugger;

import static dev.lguest.debugger.FakeGuest.KERNEL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.X86;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class GdbCommandsTest {
    private final FakeGuest guest = new FakeGuest();
    private final Breakpoints breakpoints = new Breakpoints(guest.memory);
    private final GdbCommands commands = new GdbCommands(guest.memory, breakpoints);
    private final List<String> actions = new ArrayList<>();
    private final GdbCommands.Control control = new GdbCommands.Control() {
        @Override
        public void resume(boolean step) {
            actions.add(step ? "step" : "continue");
        }

        @Override
        public void detach() {
            actions.add("detach");
        }

        @Override
        public void kill() {
            actions.add("kill");
        }
    };

    @AfterEach
    void close() {
        guest.close();
    }

    private String ask(String packet) {
        return commands.handle(packet, guest, "T05thread:1;", control);
    }

    private static String hex(int address) {
        return Integer.toHexString(address);
    }

    @Test
    void theFirstQueries() {
        assertTrue(ask("qSupported:multiprocess+;swbreak+").contains("qXfer:features:read+"));
        assertEquals("T05thread:1;", ask("?"));
        assertEquals("QC1", ask("qC"));
        assertEquals("m1", ask("qfThreadInfo"));
        assertEquals("l", ask("qsThreadInfo"));
        assertEquals("OK", ask("Hg0"));
        assertEquals("", ask("qSomethingNew"));
        assertEquals("", ask("vMustReplyEmpty"));
        assertEquals("vCont;c;C;s;S", ask("vCont?"));
    }

    @Test
    void theTargetDescriptionComesInChunks() {
        String first = ask("qXfer:features:read:target.xml:0,40");
        assertEquals('m', first.charAt(0));
        assertEquals(0x40, first.length() - 1);
        StringBuilder xml = new StringBuilder(first.substring(1));
        String next;
        do {
            next = ask("qXfer:features:read:target.xml:" + hex(xml.length()) + ",800");
            xml.append(next.substring(1));
        } while (next.charAt(0) == 'm');
        assertEquals(I386Registers.TARGET_XML, xml.toString());
        assertTrue(xml.toString().contains("<reg name=\"st7\" bitsize=\"80\""));
        assertTrue(xml.toString().contains("org.gnu.gdb.i386.core"));
    }

    @Test
    void registersInGdbsOrder() {
        guest.state.gpr[X86.EAX] = 0x11223344;
        guest.state.gpr[X86.EDI] = 0xdeadbeef;
        guest.state.eip = 0xc0101560;
        guest.state.fpu[28] = 0x7f; // the first byte of st0
        String g = ask("g");
        assertEquals(2 * (16 * 4 + 8 * 10 + 8 * 4), g.length());
        assertTrue(g.startsWith("44332211"));
        assertEquals("efbeadde", g.substring(7 * 8, 8 * 8));
        assertEquals("601510c0", g.substring(8 * 8, 9 * 8));
        assertEquals("601510c0", ask("p8"));
        assertEquals("7f000000000000000000", ask("p10"));
        assertEquals("E02", ask("p20"));
    }

    @Test
    void registersAreWrittenButNotTheHostsBits() {
        assertEquals("OK", ask("P8=78563412"));
        assertEquals(0x12345678, guest.state.eip);
        int before = guest.state.eflags;
        // CF, IF and IOPL asked for: only CF may change.
        assertEquals("OK", ask("P9=01320000"));
        assertEquals(before | X86.CF, guest.state.eflags);
        String g = ask("g");
        String changed = "01000000" + g.substring(8);
        assertEquals("OK", ask("G" + changed));
        assertEquals(1, guest.state.gpr[X86.EAX]);
        assertEquals("E02", ask("P8=1234"));
        assertEquals("E02", ask("G00"));
    }

    @Test
    void memoryIsReadAndWrittenThroughTheGuestsMapping() {
        guest.memory.write32(0x2000, 0x04030201);
        assertEquals("01020304", ask("m" + hex(KERNEL + 0x2000) + ",4"));
        assertEquals("OK", ask("M" + hex(KERNEL + 0x2000) + ",2:aabb"));
        assertEquals(0x0403bbaa, guest.memory.read32(0x2000));
        // X: binary, with '}' escaping 0x7d.
        assertEquals("OK", ask("X" + hex(KERNEL + 0x2000) + ",2:}]\u0001"));
        assertEquals(0x7d, guest.memory.read8(0x2000));
        assertEquals(1, guest.memory.read8(0x2001));
    }

    @Test
    void memoryOutsideTheGuestIsAnError() {
        assertEquals("E01", ask("m0,4"), "virtual 0 maps to nothing");
        assertEquals("E01", ask("m" + hex(KERNEL + FakeGuest.RAM) + ",4"), "past the guest's RAM");
        assertEquals("E01", ask("M0,1:00"));
        assertEquals("E01", ask("M" + hex(KERNEL + FakeGuest.RAM - 1) + ",2:0000"), "all or nothing");
        assertEquals(0, guest.memory.read8(FakeGuest.RAM - 1));
        // A read running off the end gives what could be read.
        assertEquals("0000", ask("m" + hex(KERNEL + FakeGuest.RAM - 2) + ",8"));
    }

    @Test
    void aSoftwareBreakpointIsAnInt3ThatMemoryReadsDoNotShow() {
        guest.memory.write8(0x3000, 0x55);
        String at = hex(KERNEL + 0x3000);
        assertEquals("OK", ask("Z0," + at + ",1"));
        assertEquals(0xcc, guest.memory.read8(0x3000));
        assertEquals("55", ask("m" + at + ",1"));
        // gdb writing there changes what comes back, the INT3 stays.
        assertEquals("OK", ask("M" + at + ",1:90"));
        assertEquals(0xcc, guest.memory.read8(0x3000));
        assertEquals("OK", ask("z0," + at + ",1"));
        assertEquals(0x90, guest.memory.read8(0x3000));
    }

    @Test
    void aSoftwareBreakpointWhereNothingIsMappedTakesADebugRegister() {
        assertEquals("OK", ask("Z0,c0800000,1"));
        assertEquals(0xc0800000, guest.state.debugRegisters[0]);
        assertEquals(1, guest.state.debugRegisters[7] & X86.DR7_ENABLES);
        assertEquals(X86.DR7_RW_EXECUTE, X86.breakpointKind(guest.state.debugRegisters[7], 0));
        assertEquals("OK", ask("z0,c0800000,1"));
        assertEquals(0, guest.state.debugRegisters[7]);
    }

    @Test
    void watchpointsAndHardwareBreakpointsTakeDebugRegisters() {
        assertEquals("OK", ask("Z2,c0002000,4"));
        assertEquals("OK", ask("Z3,c0002004,2"));
        assertEquals("OK", ask("Z4,c0002008,1"));
        assertEquals("OK", ask("Z1,c0001000,1"));
        int dr7 = guest.state.debugRegisters[7];
        assertEquals(X86.DR7_RW_WRITE, X86.breakpointKind(dr7, 0));
        assertEquals(4, X86.breakpointLength(dr7, 0));
        assertEquals(X86.DR7_RW_READ_WRITE, X86.breakpointKind(dr7, 1));
        assertEquals(2, X86.breakpointLength(dr7, 1));
        assertEquals(X86.DR7_RW_EXECUTE, X86.breakpointKind(dr7, 3));
        assertEquals(0xc0001000, guest.state.debugRegisters[3]);
        assertEquals("E03", ask("Z2,c0003000,4"), "four debug registers only");
        assertEquals("OK", ask("z3,c0002004,2"));
        assertEquals("OK", ask("Z2,c0003000,4"));
        assertEquals(0xc0003000, guest.state.debugRegisters[1]);
        assertEquals("", ask("Z9,0,1"), "a type we do not know: not supported");
    }

    @Test
    void aWatchADebugRegisterCannotHoldIsRefused() {
        assertEquals("E03", ask("Z2,c0002001,4"), "misaligned");
        assertEquals("E03", ask("Z2,c0002000,8"), "8 bytes: not on an i686");
        assertEquals(0, guest.state.debugRegisters[7]);
    }

    @Test
    void resumingRequestsGoToTheSession() {
        assertNull(ask("c"));
        assertNull(ask("s"));
        assertNull(ask("vCont;s:1;c"));
        assertNull(ask("vCont;c"));
        assertEquals("OK", ask("D"));
        assertNull(ask("k"));
        assertEquals(List.of("continue", "step", "step", "continue", "detach", "kill"), actions);
    }

    @Test
    void malformedRequestsAreErrorsNotExceptions() {
        for (String bad : List.of("m", "mzz,4", "m0", "m0,", "m0,ffffffff", "M0,4:zz", "M0,4:00", "P", "P8",
                "Pzz=00", "Z0", "Z0,", "Z0,zz,1", "X0,2:", "qXfer:features:read:target.xml:", "p", "G0",
                "m123456789,4", "vCont;x")) {
            String reply = ask(bad);
            assertTrue(reply != null && reply.startsWith("E"), bad + " gave " + reply);
        }
        assertTrue(actions.isEmpty());
    }
}
