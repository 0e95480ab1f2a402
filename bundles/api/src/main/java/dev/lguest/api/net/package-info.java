/**
 * Network backends: where a guest's virtio network device sends the Ethernet frames
 * the guest transmits, and where the frames it receives come from. Each kind of
 * backend (an in-process switch, a host TAP interface, a socket to another process)
 * is a {@link dev.lguest.api.net.NetworkBackend} service, so a build leaves one out by
 * leaving its bundle out; the device opens one {@link dev.lguest.api.net.NetworkLink}
 * per guest.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.lguest.api.net;
