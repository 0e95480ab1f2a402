/**
 * Shadow page tables: the page tables the CPU really walks, built from the guest's own.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package dev.lguest.api.mmu;
