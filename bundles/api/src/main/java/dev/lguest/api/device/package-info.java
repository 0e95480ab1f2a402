/**
 * The /dev/lguest device: the 2.6.24 read/write protocol between the Launcher and the host.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package dev.lguest.api.device;
