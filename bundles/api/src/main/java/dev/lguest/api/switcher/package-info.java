/**
 * The switcher: the world switch into a guest and the loop that runs it until the Launcher is needed.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package dev.lguest.api.switcher;
