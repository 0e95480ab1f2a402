package dev.lguest.itests;

import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.exam.GuestRun;
import dev.lguest.exam.LguestBuild;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

import javax.inject.Inject;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * lguest:gdb, called as Gogo calls it, gives a running guest a gdb stub in the default
 * build: gdb's connection stops the guest, it answers, and a detach lets the guest
 * go on as if nothing had happened (the demo guest's checksum still comes out, right,
 * and it keeps running). The demo runs "forever", so it is still running when gdb
 * attaches however fast the CPU is.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class GdbCommandIT {
    private static final int ROUNDS = Guests.LONG_SPIN;

    @Inject
    private GuestLauncher launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return LguestBuild.defaultBuild().options();
    }

    @Test
    public void attachToARunningGuestThenDetach() throws Exception {
        try (GuestRun run = GuestRun.bootDemo(launcher, "spin=" + ROUNDS, "forever")) {
            run.awaitLine(GuestRun.DEMO_HELLO, Duration.ofSeconds(60));
            int id = run.awaitGuest(Duration.ofSeconds(10)).id();
            assertTrue(gdb(id + 1000, 0).startsWith("no guest"));
            String answer = gdb(id, 0);
            Matcher port = Pattern.compile("127\\.0\\.0\\.1:(\\d+)").matcher(answer);
            assertTrue(answer, port.find());
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), Integer.parseInt(port.group(1)))) {
                socket.setSoTimeout(60_000);
                OutputStream out = socket.getOutputStream();
                InputStream in = socket.getInputStream();
                assertEquals("T05thread:1;", exchange(out, in, "?"));
                assertEquals(2 * 176, exchange(out, in, "g").length());
                assertEquals("OK", exchange(out, in, "D"));
            }
            run.awaitLine(String.format("checksum 0x%08x", Guests.checksum(ROUNDS)), Duration.ofMinutes(2));
            assertTrue("the guest runs on after the detach", run.session().await(Duration.ZERO).isEmpty());
        }
    }

    private String gdb(int id, int port) throws Exception {
        ServiceReference<?>[] refs = context.getServiceReferences((String) null,
                "(&(osgi.command.scope=lguest)(osgi.command.function=gdb))");
        assertTrue("lguest:gdb is registered", refs != null && refs.length == 1);
        Object command = context.getService(refs[0]);
        try {
            for (Method m : command.getClass().getMethods()) {
                if (m.getName().equals("gdb") && m.getParameterCount() == 2) {
                    return (String) m.invoke(command, id, port);
                }
            }
            throw new AssertionError("no command lguest:gdb");
        } finally {
            context.ungetService(refs[0]);
        }
    }

    private static String exchange(OutputStream out, InputStream in, String packet) throws Exception {
        int sum = 0;
        for (char c : packet.toCharArray()) {
            sum += c;
        }
        out.write(String.format("$%s#%02x", packet, sum & 0xff).getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
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
}
