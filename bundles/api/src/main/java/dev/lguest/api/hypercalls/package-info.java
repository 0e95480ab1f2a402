/**
 * Hypercalls: the table of calls a guest makes with int 0x1f, and their asynchronous ring.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.lguest.api.hypercalls;
