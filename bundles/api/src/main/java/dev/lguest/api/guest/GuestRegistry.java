package dev.lguest.api.guest;

import java.util.List;

/**
 * The guests this host runs now, for tools (shell commands, monitoring). Every guest
 * has an open /dev/lguest, so the device provides this; after a swap of the device the
 * new one lists the guests it adopted.
 */
public interface GuestRegistry {
    /** The live guests, in the order they were created. */
    List<Guest> guests();
}
