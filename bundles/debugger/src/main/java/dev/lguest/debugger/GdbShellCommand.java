package dev.lguest.debugger;

import dev.lguest.api.debug.GdbServer;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.GuestRegistry;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import java.io.IOException;

/**
 * The Gogo command that gives a running guest a gdb stub:
 *
 *   lguest:gdb <guest id> [port]     listen on 127.0.0.1:port (default 1234) for gdb
 *
 * The guest runs on until gdb connects (connecting stops it). Like the other lguest
 * commands it needs none of Gogo's classes: Gogo finds it by its osgi.command properties.
 */
@Component(service = GdbShellCommand.class, property = {
    "osgi.command.scope=lguest",
    "osgi.command.function=gdb",
})
public final class GdbShellCommand {
    static final int DEFAULT_PORT = 1234;

    @Reference
    private GdbServer server;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile GuestRegistry registry;

    public String gdb(int guestId) {
        return gdb(guestId, DEFAULT_PORT);
    }

    public String gdb(int guestId, int port) {
        GuestRegistry r = registry;
        Guest guest = r == null ? null
                : r.guests().stream().filter(g -> g.id() == guestId).findFirst().orElse(null);
        if (guest == null) {
            return "no guest " + guestId + " (lguest:list shows the guests)";
        }
        try {
            int bound = server.attach(guest, port, false);
            return "guest " + guestId + ": gdb stub on 127.0.0.1:" + bound + " (gdb vmlinux -ex 'target remote :"
                    + bound + "')";
        } catch (IOException e) {
            return "guest " + guestId + ": cannot listen on port " + port + ": " + e.getMessage();
        }
    }
}
