/**
 * Debugging a guest: the debugger the switcher consults at a debugged guest's exits,
 * the stopped guest it is handed, and the gdb server a user or the Launcher attaches.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.lguest.api.debug;
