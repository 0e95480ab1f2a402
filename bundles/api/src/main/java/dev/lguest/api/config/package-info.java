/**
 * Configuration of the lguest platform that more than one bundle needs to agree on:
 * the configuration PIDs (ConfigAdmin, described by Metatype) and the
 * {@link dev.lguest.api.config.GuestDefaults} service through which a guest booted
 * without explicit settings gets the configured ones.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.lguest.api.config;
