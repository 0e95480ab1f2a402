/**
 * Segments: the guest's GDT and TLS entries and lguest's fix-ups of them.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.lguest.api.segments;
