/**
 * JDK Flight Recorder events of the lguest platform, named dev.lguest.*: guest exits
 * (from the switcher), guest deaths, component swaps, and periodic per-guest
 * statistics. They live in the API because more than one bundle commits them, and so
 * that a recording can be read with their names alone:
 * {@code jfr print --events 'dev.lguest.*' recording.jfr}.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.lguest.api.events;
