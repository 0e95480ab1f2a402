/**
 * The Launcher: booting a guest, and the device SPI through which it gives the guest
 * virtio devices (a {@link dev.lguest.api.launcher.LauncherDevice} service per kind of
 * device, a {@link dev.lguest.api.launcher.GuestDevice} per guest, fed
 * {@link dev.lguest.api.launcher.Virtqueue}s by the Launcher). 2.1: a guest's device can
 * be handed over to another implementation while the guest runs
 * ({@link dev.lguest.api.launcher.DeviceHandover}). 2.2: the hand-over calls come on
 * the swapping thread while the guest runs, never at the same time as another call of
 * the device, and do not touch the rings. 2.3: a {@link dev.lguest.api.launcher.GuestOutcome}
 * carries its exit status; a guest its user stopped through a device exits 2, as in lguest.c;
 * a device can warn its user ({@link dev.lguest.api.launcher.DeviceHost#warn}); a
 * {@link dev.lguest.api.launcher.BlockState} says whether its disk is read-only. 2.4: network links in the
 * boot spec ({@link dev.lguest.api.launcher.BootSpec#networks()}) and the network
 * device's hand-over state ({@link dev.lguest.api.launcher.NetState}). 2.5: a network card
 * from a snapshot ({@link dev.lguest.api.launcher.SavedNetState}), which joins the
 * network the restore names; a device may interrupt a guest that asked for no interrupts
 * ({@link dev.lguest.api.launcher.Virtqueue#interruptEvenIfSuppressed()}). 2.6: a
 * {@link dev.lguest.api.launcher.DeviceState} no device will take is released
 * ({@link dev.lguest.api.launcher.DeviceState#release()}: a disk's file, a link closed).
 * 2.7: a boot may ask for its gzip initrd inflated by the host
 * ({@link dev.lguest.api.launcher.BootSpec#inflateInitrd()}).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.7.0")
package dev.lguest.api.launcher;
