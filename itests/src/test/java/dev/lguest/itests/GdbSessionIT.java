package dev.lguest.itests;

import org.junit.Assume;
import org.junit.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * gdb debugging a guest through the stub, as a user does it: the default build's jar
 * with --gdb, Debian's gdb in batch mode with the kernel's symbols. Against the test
 * kernel and the real Linux 2.6.24 guest: a breakpoint at a kernel function set before
 * the first instruction (the kernel has not mapped itself yet, so it starts out in a
 * debug register), continue, registers, memory by symbol, a single step, the
 * breakpoint deleted, a watchpoint on a variable the kernel writes, and on to the
 * power-off, which gdb sees as the end of the program. And the protocol by hand
 * against a running guest: attaching stops it, Ctrl-C interrupts it, k kills it.
 * Skipped, with one line, where gdb or the Linux guest is missing.
 */
public class GdbSessionIT {
    private static Path guest(String name) {
        return Path.of(System.getProperty("lguest.guests", "../guest/target/classes/guests"), name);
    }

    private static void assertHas(String transcript, String... expected) {
        for (String e : expected) {
            assertTrue("gdb's transcript has \"" + e + "\":\n" + transcript, transcript.contains(e));
        }
    }

    @Test
    public void gdbDebugsTheTestKernel() throws Exception {
        Assume.assumeTrue("gdb is not installed", GdbRun.haveGdb());
        Path kernel = guest("testkernel.elf");
        try (GdbRun run = GdbRun.start(true, "32", kernel.toString())) {
            String transcript = run.gdb(kernel,
                    "info registers eip",
                    "break kernel_main",
                    "continue",
                    "info registers eip",
                    "x/wx &ram_bytes",
                    "stepi",
                    "info registers eip",
                    "delete",
                    "watch *(int*)&ram_bytes",
                    "continue",
                    "delete",
                    "continue");
            assertHas(transcript,
                    "0x00100000 in ?? ()",
                    "Breakpoint 1, 0xc0101560 in kernel_main ()",
                    "eip            0xc0101560",
                    "<ram_bytes>:\t0x00000000",
                    "0xc0101561 in kernel_main ()",
                    "Hardware watchpoint 2: *(int*)&ram_bytes",
                    "Old value = 0",
                    "New value = 33554432",
                    "exited normally");
            assertEquals(run.output(), 0, run.awaitExit());
            assertTrue(run.output(), run.output().contains("failed 0"));
        }
    }

    @Test
    public void gdbDebugsTheLinuxGuest() throws Exception {
        Assume.assumeTrue("gdb is not installed", GdbRun.haveGdb());
        Path dir = GdbRun.linuxDirectory();
        Path vmlinux = dir.resolve("vmlinux-2.6.24-lguest");
        Path initrd = dir.resolve("initramfs-smoke.cpio.gz");
        Assume.assumeTrue("no Linux guest in " + dir + " (LGUEST_LINUX_DIR)", Files.isRegularFile(vmlinux)
                && Files.isRegularFile(initrd));
        try (GdbRun run = GdbRun.start(true, "64", vmlinux.toString(), "--initrd=" + initrd)) {
            // busybox's shell asks its PID as it starts: sys_getpid is surely called.
            String transcript = run.gdb(vmlinux,
                    "break sys_getpid",
                    "continue",
                    "info registers",
                    "x/s &linux_banner",
                    "x/wx &jiffies",
                    "stepi",
                    "delete",
                    "watch *(int*)&jiffies",
                    "continue",
                    "delete",
                    "continue");
            assertHas(transcript,
                    "Breakpoint 1, 0xc0119c40 in sys_getpid ()",
                    "eip            0xc0119c40",
                    "cs             0x61",
                    "<linux_banner>:\t\"Linux version 2.6.24",
                    "in sys_getpid ()",
                    "Hardware watchpoint 2: *(int*)&jiffies",
                    "in do_timer ()",
                    "exited normally");
            assertEquals(run.output(), 0, run.awaitExit());
            assertTrue(run.output(), run.output().contains("LGUEST-TEST: done"));
        }
    }

    /** One packet of gdb's protocol, framed; its reply read after the '+'. */
    private static String exchange(OutputStream out, InputStream in, String packet) throws Exception {
        send(out, packet);
        return reply(in);
    }

    private static void send(OutputStream out, String packet) throws Exception {
        int sum = 0;
        for (char c : packet.toCharArray()) {
            sum += c;
        }
        out.write(String.format("$%s#%02x", packet, sum & 0xff).getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    private static String reply(InputStream in) throws Exception {
        int b;
        while ((b = in.read()) != '$') {
            if (b < 0) {
                throw new AssertionError("the stub closed the connection");
            }
        }
        StringBuilder data = new StringBuilder();
        while ((b = in.read()) != '#') {
            data.append((char) b);
        }
        in.read();
        in.read();
        return data.toString();
    }

    @Test
    public void attachingStopsARunningGuestCtrlCInterruptsItAndKillEndsIt() throws Exception {
        // The demo guest's checksum loop keeps it busy long enough.
        try (GdbRun run = GdbRun.start(false, "16", guest("demo-guest.elf").toString(), "spin=2000000000");
             Socket socket = new Socket(InetAddress.getLoopbackAddress(), run.port)) {
            socket.setSoTimeout(120_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            assertTrue(exchange(out, in, "qSupported:swbreak+").contains("PacketSize="));
            assertEquals("T05thread:1;", exchange(out, in, "?"));
            String registers = exchange(out, in, "g");
            assertEquals(2 * 176, registers.length());
            // 1 GB: past the 16 MB the guest has mapped, and no host memory is ever shown.
            assertEquals("E01", exchange(out, in, "m40000000,4"));
            assertEquals("E02", exchange(out, in, "mzz"));
            send(out, "c");
            Thread.sleep(200);
            out.write(3);
            out.flush();
            assertEquals("T02thread:1;", reply(in));
            send(out, "k");
            assertEquals(run.output(), 1, run.awaitExit());
            assertTrue(run.output(), run.output().contains("killed by gdb"));
        }
    }
}
