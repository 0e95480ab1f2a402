package dev.lguest.api.config;

/**
 * What a guest gets when whoever boots it does not say: `lguest` without a memory
 * argument, or a program that boots "a guest of the default size". The Launcher
 * bundle provides it from the configuration PID {@link #PID}; ConfigAdmin changes
 * take effect for the next guest booted, without a restart.
 */
public interface GuestDefaults {
    /** The configuration PID of the Launcher's defaults. */
    String PID = "dev.lguest.launcher";

    /** Guest memory in megabytes for a guest booted without a size. */
    int memoryMegabytes();
}
