/**
 * The Launcher: booting a guest, and the devices it provides to the guest.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.lguest.api.launcher;
