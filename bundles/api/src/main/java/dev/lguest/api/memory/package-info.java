/**
 * Guest memory: the Launcher's memory as the guest sees it, and the physical bus the CPU reads.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package dev.lguest.api.memory;
