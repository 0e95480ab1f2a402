package dev.lguest.api.net;

/**
 * One kind of network a guest can be joined to, as a service: the command line's
 * {@code --net=KIND:ARGUMENT} picks the backend whose {@link #kind()} is KIND and
 * gives it ARGUMENT ("switch:lan0" joins the in-process switch lan0; lguest's
 * {@code --tunnet=10.0.0.1} is "tap:10.0.0.1").
 */
public interface NetworkBackend {
    /** The word before the colon on the command line: "switch", "tap", "socket". */
    String kind();

    /**
     * Opens one guest's link: frames the guest sends go in through
     * {@link NetworkLink#send}, frames for it come out through {@code receiver}.
     * Whatever stands in the way (no permission for TAP, a peer that is not there, an
     * argument that makes no sense) is a NetworkException with one line for the user.
     */
    NetworkLink open(String argument, FrameReceiver receiver) throws NetworkException;
}
