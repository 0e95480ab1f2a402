/**
 * Guest memory: the Launcher's memory as the guest sees it, the physical bus the CPU reads,
 * and the log of the pages written while a guest migrates.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.3.0")
package dev.lguest.api.memory;
