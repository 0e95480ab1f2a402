package dev.lguest.nettap;

import dev.lguest.api.net.FrameReceiver;
import dev.lguest.api.net.NetworkBackend;
import dev.lguest.api.net.NetworkException;
import dev.lguest.api.net.NetworkLink;
import org.osgi.service.component.annotations.Component;

/**
 * The "tap" network backend, lguest's own network: {@code --tunnet=10.0.0.1} (or
 * {@code --net=tap:10.0.0.1}, optionally with /PREFIX) gives the host a new TAP
 * interface with that address, and the guest sits on the other end of it;
 * {@code --tunnet=bridge:br0} adds the interface to the bridge br0 instead. It takes
 * CAP_NET_ADMIN, as it does for lguest; without it the boot stops with one line.
 */
@Component(service = NetworkBackend.class)
public final class TapBackend implements NetworkBackend {
    @Override
    public String kind() {
        return "tap";
    }

    @Override
    public NetworkLink open(String argument, FrameReceiver receiver) throws NetworkException {
        TapSetup.Request request = TapSetup.Request.parse(argument);
        TapSetup.Opened tap = TapSetup.open(request);
        String description = "tun net " + tap.name() + " "
                + (request.bridge() != null ? "bridge " + request.bridge() : request.describeAddress());
        return new TapLink(tap, description, receiver);
    }
}
