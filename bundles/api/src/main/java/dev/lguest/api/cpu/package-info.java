/**
 * The x86 CPU as hardware: registers, descriptor caches, control registers, and running until an exit.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.3.0")
package dev.lguest.api.cpu;
