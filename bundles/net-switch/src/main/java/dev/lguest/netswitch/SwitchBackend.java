package dev.lguest.netswitch;

import dev.lguest.api.net.FrameReceiver;
import dev.lguest.api.net.NetworkBackend;
import dev.lguest.api.net.NetworkException;
import dev.lguest.api.net.NetworkLink;
import org.osgi.service.component.annotations.Component;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The "switch" network backend: {@code --net=switch:NAME} plugs the guest into the
 * switch called NAME, made when its first guest joins and gone when its last leaves.
 * The guests on one switch are one Ethernet segment; guests on different switches
 * never see each other. Nothing leaves the process, so no privileges are needed.
 */
@Component(service = NetworkBackend.class)
public final class SwitchBackend implements NetworkBackend {
    private final Map<String, EthernetSwitch> switches = new ConcurrentHashMap<>();

    @Override
    public String kind() {
        return "switch";
    }

    @Override
    public NetworkLink open(String argument, FrameReceiver receiver) throws NetworkException {
        if (!argument.matches("[A-Za-z0-9_.-]{1,64}")) {
            throw new NetworkException("--net=switch:" + argument
                    + ": a switch name is 1 to 64 letters, digits, '.', '_' or '-'");
        }
        while (true) {
            EthernetSwitch s = switches.computeIfAbsent(argument, name -> new EthernetSwitch(name, switches::remove));
            NetworkLink port = s.plug(receiver);
            if (port != null) {
                return port;
            }
            // That switch just lost its last port and is going away: make a new one.
            switches.remove(argument, s);
        }
    }

    /** For tests: the switches that have guests now. */
    Map<String, EthernetSwitch> switches() {
        return switches;
    }
}
