/**
 * Trap and interrupt delivery into the guest: its IDT, its kernel stack, direct traps, the clock.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.lguest.api.traps;
